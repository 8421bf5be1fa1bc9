package probe

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A dial that fails says which address it went to: a server back on a new
// port, or a DNS answer that moved, read "connection refused" alone, and
// the on-call could not tell which address was refused. The address is
// the dialer's (an IP and port), the proxy's when a proxy was dialled, and
// never the URL's userinfo.
func TestDialErrorNamesTheAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refused from now on
	proxied := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: addr})}
	t.Cleanup(proxied.CloseIdleConnections)

	for _, tc := range []struct {
		name      string
		step      config.Step
		transport http.RoundTripper
		want      string
	}{
		{name: "request", step: get("s", "http://"+addr+"/"),
			want: "s: connection refused (" + addr + ")"},
		{name: "credentials in the url are not said", step: get("s", "http://probe:hunter2@"+addr+"/"),
			want: "s: connection refused (" + addr + ")"},
		{name: "websocket", step: config.Step{Name: "subscribe", Function: "receive", WebSocket: &config.Stream{URL: "ws://" + addr + "/ws"}},
			want: "subscribe: websocket: connection refused (" + addr + ")"},
		{name: "sse", step: config.Step{Name: "subscribe", Function: "receive", SSE: &config.Stream{URL: "http://" + addr + "/events"}},
			want: "subscribe: sse: connection refused (" + addr + ")"},
		{name: "the proxy refused", step: get("s", "http://probe-target.example:8080/"), transport: proxied,
			want: "s: connection refused (proxy " + addr + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{tc.step}}, Options{Transport: tc.transport})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}

// The other dial errors where an address helps, as net/http returns them
// (no route is made for a test: the errors are built as the dialer builds
// them). A name that does not resolve names the name already.
func TestUnreachableNamesTheAddress(t *testing.T) {
	dial := func(ip string, port int, errno syscall.Errno) error {
		return &url.Error{Op: "Get", URL: "https://probe:hunter2@matrix.example/", Err: &net.OpError{Op: "dial", Net: "tcp",
			Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}, Err: os.NewSyscallError("connect", errno)}}
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"host unreachable", dial("10.0.0.5", 8448, syscall.EHOSTUNREACH), "host unreachable (10.0.0.5:8448)"},
		{"network unreachable", dial("2001:db8::1", 443, syscall.ENETUNREACH), "network unreachable ([2001:db8::1]:443)"},
		{"refused", dial("10.0.0.5", 8448, syscall.ECONNREFUSED), "connection refused (10.0.0.5:8448)"},
		{"refused by the proxy", &url.Error{Op: "Get", URL: "http://matrix.example/", Err: &net.OpError{Op: "proxyconnect", Net: "tcp",
			Err: &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP("10.0.0.9"), Port: 3128}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}},
			"connection refused (proxy 10.0.0.9:3128)"},
		{"no address in the error", os.NewSyscallError("connect", syscall.ECONNREFUSED), "connection refused"},
		{"no such host", &url.Error{Op: "Get", URL: "https://matrix.example/", Err: &net.OpError{Op: "dial", Net: "tcp",
			Err: &net.DNSError{Err: "no such host", Name: "matrix.example", IsNotFound: true}}}, "dns: no such host matrix.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := transportError(tc.err); got != tc.want {
				t.Errorf("transportError(%q) = %q, want %q", tc.err, got, tc.want)
			}
		})
	}
}
