// Package httpserve is the one way slaprobe serves HTTP: an http.Server with
// every timeout set and a cap on open connections, so that a neighbour
// holding idle keep-alive connections (or opening them faster than they
// time out) cannot push the process to its open-file limit or starve
// /healthz and /metrics.
//
// The cap does not queue: when it is reached, the connection that has been
// idle the longest (a keep-alive connection between requests, or a new one
// that has not finished sending its first request) is closed to make room.
// Only when every connection is busy serving a request is the newcomer
// closed instead. A flood of idle connections therefore costs the server at
// most MaxConns descriptors and never stops it from answering.
//
// Handlers that stream (SSE, long polls) must lift the write deadline for
// their own request: http.NewResponseController(w).SetWriteDeadline(time.Time{}).
package httpserve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero Options.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxConns          = 1024
	DefaultShutdownGrace     = 5 * time.Second
)

// Options tune a Server. A zero field takes its default; a negative timeout
// means none (only for handlers that need it, e.g. a stream server's write
// timeout).
type Options struct {
	ReadHeaderTimeout time.Duration // time to read a request's headers
	ReadTimeout       time.Duration // time to read a whole request, body included
	WriteTimeout      time.Duration // time to write a response
	IdleTimeout       time.Duration // keep-alive connections idle longer are closed
	MaxHeaderBytes    int           // request header size limit
	MaxConns          int           // open connections at most (see the package doc)
	ShutdownGrace     time.Duration // how long Run waits for requests in flight when ctx ends; negative: not at all, they are cut off
	// Logger receives the server's own errors (accept errors, handler
	// panics) at warn level; nil discards them.
	Logger *slog.Logger
	// ConnState, when set, is called after the server's own tracking.
	ConnState func(net.Conn, http.ConnState)
}

func pick(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Server is an HTTP server with timeouts and a connection cap. Create it
// with New; it is used like http.Server (Serve, Shutdown, Close) or with Run.
type Server struct {
	srv   http.Server
	max   int
	grace time.Duration
	user  func(net.Conn, http.ConnState)

	mu    sync.Mutex
	conns map[*conn]struct{}
	seq   uint64 // bumped on every state change: lower is idle for longer

	evicted  atomic.Uint64
	rejected atomic.Uint64
}

// New returns a Server for h.
func New(h http.Handler, o Options) *Server {
	s := &Server{
		max:   o.MaxConns,
		grace: pick(o.ShutdownGrace, DefaultShutdownGrace),
		user:  o.ConnState,
		conns: map[*conn]struct{}{},
	}
	if s.max <= 0 {
		s.max = DefaultMaxConns
	}
	s.srv = http.Server{
		Handler:           unreadBody(h),
		ReadHeaderTimeout: pick(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       pick(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      pick(o.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       pick(o.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ConnState:         s.connState,
	}
	if s.srv.MaxHeaderBytes <= 0 {
		s.srv.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.Logger != nil {
		s.srv.ErrorLog = slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn)
	} else {
		s.srv.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelWarn)
	}
	return s
}

// Serve accepts connections on ln until Shutdown or Close; like
// http.Server.Serve it always returns a non-nil error, http.ErrServerClosed
// after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	return s.srv.Serve(&listener{Listener: ln, s: s})
}

// Shutdown stops accepting, closes idle connections and waits for the
// requests in flight, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// Close closes the listener and every connection at once.
func (s *Server) Close() error { return s.srv.Close() }

// Run serves on ln until ctx is done, then shuts down, giving requests in
// flight up to ShutdownGrace (with none, it closes their connections at
// once). It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if s.grace == 0 {
		err := s.Close()
		if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	err := s.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Stats are a server's connection counts.
type Stats struct {
	Open     int    // connections open now (hijacked ones included until closed)
	Evicted  uint64 // idle connections closed to make room for a new one
	Rejected uint64 // new connections closed because every open one was busy
}

// Stats returns the connection counts.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.conns)
	s.mu.Unlock()
	return Stats{Open: n, Evicted: s.evicted.Load(), Rejected: s.rejected.Load()}
}

// conn is an accepted connection with its last state.
type conn struct {
	net.Conn
	s     *Server
	state http.ConnState // guarded by s.mu
	seq   uint64         // guarded by s.mu
}

// Close forgets the connection and closes it; the server, a handler that
// hijacked it, or an eviction may call it, in any order.
func (c *conn) Close() error {
	c.s.forget(c)
	return c.Conn.Close()
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// admit counts a new connection in, closing the longest-idle one when the
// cap is reached. It returns false when every open connection is busy.
func (s *Server) admit(nc net.Conn) (*conn, bool) {
	c := &conn{Conn: nc, s: s, state: http.StateNew}
	var victim *conn
	s.mu.Lock()
	if len(s.conns) >= s.max {
		for o := range s.conns {
			if (o.state == http.StateNew || o.state == http.StateIdle) && (victim == nil || o.seq < victim.seq) {
				victim = o
			}
		}
		if victim == nil {
			s.mu.Unlock()
			s.rejected.Add(1)
			return nil, false
		}
		delete(s.conns, victim)
	}
	s.seq++
	c.seq = s.seq
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	if victim != nil {
		s.evicted.Add(1)
		_ = victim.Conn.Close() // the server's goroutine for it sees the error and ends
	}
	return c, true
}

func (s *Server) connState(nc net.Conn, st http.ConnState) {
	if c, ok := nc.(*conn); ok {
		if st == http.StateClosed {
			s.forget(c)
		} else {
			s.mu.Lock()
			if _, open := s.conns[c]; open {
				s.seq++
				c.state, c.seq = st, s.seq
			}
			s.mu.Unlock()
		}
	}
	if s.user != nil {
		s.user(nc, st)
	}
}

// unreadBody keeps a request body the handler did not read from holding
// the connection: net/http drains up to 256 KiB of it, before the answer
// and again after, for up to ReadTimeout, to reuse the connection; a
// client that trickles a body to a route that never reads one (the status
// page, /metrics, any 404 or 405) would so keep a connection busy, and a
// few hundred such clients the whole cap, with /healthz refused. When the
// handler returns without having read the body to its end, the read
// deadline is set to now: the drain stops at once, the answer is still
// written, and the connection is closed after it.
func unreadBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		b := &eofBody{ReadCloser: r.Body}
		r.Body = b
		h.ServeHTTP(w, r)
		if !b.eof {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	})
}

// eofBody records whether a request body was read to its end.
type eofBody struct {
	io.ReadCloser
	eof bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// listener admits accepted connections through the cap.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if c, ok := l.s.admit(nc); ok {
			return c, nil
		}
		_ = nc.Close()
	}
}
