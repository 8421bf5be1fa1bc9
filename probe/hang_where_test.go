package probe

import (
	"cmp"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// silentListener accepts connections and never sends a byte (a SIGSTOPped
// server: the kernel accepts for it), holding them open until the test
// ends.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

// silentResolver is a DNS server that never answers: a UDP socket that
// reads nothing back.
func silentResolver(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", pc.LocalAddr().String())
	}}
}

// A step that times out says what it was waiting for and from where: the
// answer's headers, the rest of the body (and how much had come), the TLS
// handshake, the DNS name, where before each read "timeout after 500ms" alone
// and only the phase timings told one hang from another.
func TestTimeoutSaysWhereItHung(t *testing.T) {
	silent := silentListener(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2000000")
		w.WriteHeader(http.StatusOK)
		w.Write(make([]byte, 600000))
		w.(http.Flusher).Flush()
		select { // the rest never comes
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(stalled.Close)
	stalledAddr := strings.TrimPrefix(stalled.URL, "http://")

	dnsTransport := &http.Transport{DialContext: (&net.Dialer{Resolver: silentResolver(t)}).DialContext}
	t.Cleanup(dnsTransport.CloseIdleConnections)

	for _, tc := range []struct {
		name, url string
		transport http.RoundTripper
		step      time.Duration // the step's timeout; 0: the flow's
		flow      time.Duration // the flow's timeout; 0: 2s
		want      string
	}{
		{name: "no response headers", url: "http://" + silent + "/", step: 500 * time.Millisecond,
			want: "get: timeout after 500ms waiting for response headers from " + silent},
		{name: "no response headers, flow timeout", url: "http://" + silent + "/", flow: 500 * time.Millisecond,
			want: "get: flow timeout after 500ms waiting for response headers from " + silent},
		{name: "body stalls", url: stalled.URL + "/", step: 500 * time.Millisecond,
			want: "get: timeout after 500ms reading the body from " + stalledAddr + " after 600 kB"},
		{name: "TLS handshake never completes", url: "https://" + silent + "/", step: 500 * time.Millisecond,
			want: "get: timeout after 500ms in the TLS handshake with " + silent},
		{name: "DNS name never resolves", url: "http://probe-target.example:8080/", transport: dnsTransport, step: 500 * time.Millisecond,
			want: "get: timeout after 500ms resolving probe-target.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := get("get", tc.url)
			st.Timeout = tc.step
			flow := cmp.Or(tc.flow, 2*time.Second)
			run := runOne(t, context.Background(), config.Flow{Timeout: flow, Steps: []config.Step{st}}, Options{Transport: tc.transport})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}

// A step that hangs behind a proxy (HTTP_PROXY, HTTPS_PROXY) names the
// target it was waiting on, and the proxy it went through: a frozen target
// behind a healthy proxy read "waiting for response headers from
// proxy.corp:3128", as if the proxy were what hung. A redirect to another
// host names the host redirected to, as before, and no proxy.
func TestTimeoutNamesTargetBehindProxy(t *testing.T) {
	silent := silentListener(t)
	proxied := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: silent})}
	t.Cleanup(proxied.CloseIdleConnections)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+silent+"/next", http.StatusFound)
	}))
	t.Cleanup(redirector.Close)

	for _, tc := range []struct {
		name, url string
		transport http.RoundTripper
		want      string
	}{
		{name: "frozen behind a proxy", url: "http://probe-target.example:8080/", transport: proxied,
			want: "get: timeout after 500ms waiting for response headers from probe-target.example:8080 via proxy " + silent},
		{name: "https behind a proxy", url: "https://probe-target.example/", transport: proxied,
			want: "get: timeout after 500ms sending the request to probe-target.example:443 via proxy " + silent},
		{name: "redirected to a frozen host", url: redirector.URL + "/",
			want: "get: timeout after 500ms waiting for response headers from " + silent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := get("get", tc.url)
			st.Timeout = 500 * time.Millisecond
			run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{st}}, Options{Transport: tc.transport})
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		})
	}
}

// A compressed body (a step that sends its own Accept-Encoding) that
// stalls before its first byte says that none of it came: before, the
// count was of the run's buffer as the step before left it ("after 10 kB",
// another step's body), since the decoder waited for its header before the
// body's reading began.
func TestStalledCompressedBodyCountsItsOwn(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			w.Write(make([]byte, 10000))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select { // not even the gzip header comes
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	first := get("first", srv.URL+"/first")
	second := get("second", srv.URL+"/second")
	second.Request.Headers = map[string]string{"Accept-Encoding": "gzip"}
	second.Timeout = 500 * time.Millisecond
	run := runOne(t, context.Background(), config.Flow{Timeout: 2 * time.Second, Steps: []config.Step{first, second}}, Options{})
	wantStep(t, run.Steps[1], StatusFailed, "second: timeout after 500ms reading the body from "+strings.TrimPrefix(srv.URL, "http://")+" after 0 bytes")
}
