package platform

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"syscall"
)

// Transport returns an http.RoundTripper that calls the platform in process,
// without sockets, whatever the request URL's host. It honours the request
// context (a done context fails the round trip with its error), carries the
// context's clock to the platform, and turns a down fault into a
// *net.OpError wrapping syscall.ECONNREFUSED, as a refused dial would.
func (p *Platform) Transport() http.RoundTripper { return transport{p} }

type transport struct{ p *Platform }

// tcpAddr is the net.Addr of a refused dial: the request URL's host.
type tcpAddr string

func (a tcpAddr) Network() string { return "tcp" }
func (a tcpAddr) String() string  { return string(a) }

// RoundTrip implements http.RoundTripper.
func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Body != nil {
		defer req.Body.Close()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var down bool
	sr := req.Clone(context.WithValue(ctx, downKey{}, &down))
	sr.RequestURI = req.URL.RequestURI()
	sr.RemoteAddr = inProcessAddr
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	if req.Body == nil {
		sr.Body = http.NoBody
	}
	if sr.Proto == "" {
		sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	}
	rec := &recorder{header: http.Header{}}
	t.p.mux.ServeHTTP(rec, sr)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if down {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: tcpAddr(req.URL.Host),
			Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.header.Get("Content-Type") == "" && rec.body.Len() > 0 {
		rec.header.Set("Content-Type", http.DetectContentType(rec.body.Bytes()))
	}
	rec.header.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       req,
	}, nil
}

// recorder is the in-process http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
