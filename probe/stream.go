package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// A stream step (websocket.go, sse.go) opens a push stream that stays open
// until the run ends: one reader goroutine per stream drains it into an
// inbox that later await steps read. The run closes every stream it opened
// when it ends, whatever happened.

// streamLimits bound one stream; see config.Stream.
type streamLimits struct {
	maxMessageBytes  int64
	maxMessages      int
	maxBufferedBytes int64
}

func newStreamLimits(s *config.Stream) streamLimits {
	l := streamLimits{maxMessageBytes: s.MaxMessageBytes, maxMessages: s.MaxMessages, maxBufferedBytes: s.MaxBufferedBytes}
	if l.maxMessageBytes <= 0 {
		l.maxMessageBytes = defaultMaxBodyBytes
	}
	if l.maxMessages <= 0 {
		l.maxMessages = config.DefaultMaxMessages
	}
	if l.maxBufferedBytes <= 0 {
		l.maxBufferedBytes = config.DefaultMaxBufferedBytes
	}
	return l
}

// stream is an open push stream of a run.
type stream struct {
	*inbox
	cancel context.CancelFunc // ends the reader's context
	conn   func()             // closes the connection at once
	done   chan struct{}      // closed when the reader returned
	// expiry says what on this stream means the session expired (see
	// expiry.go); closeCode is the WebSocket close code the server ended
	// it with (0: none), set before the inbox ends.
	expiry    *sessionExpiry
	closeCode atomic.Int32
}

// streamCloseWait bounds how long closing a stream waits for its reader.
const streamCloseWait = 5 * time.Second

// close stops the reader and closes the connection; it waits for the
// reader (bounded), so no goroutine outlives the run.
func (s *stream) close() {
	s.cancel()
	if s.conn != nil {
		s.conn()
	}
	t := time.NewTimer(streamCloseWait)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
	}
	s.end(errStreamClosed)
}

var errStreamClosed = errors.New("stream closed at the end of the run")

// openStream registers the stream opened by the current step.
func (rs *runState) openStream(s *stream) {
	if rs.streams == nil {
		rs.streams = make([]*stream, len(rs.cf.steps))
	}
	if old := rs.streams[rs.cur]; old != nil {
		old.close() // a retried step replaces its stream
	}
	rs.streams[rs.cur] = s
}

// closeStreams closes every stream the run opened.
func (rs *runState) closeStreams() {
	for i, s := range rs.streams {
		if s != nil {
			s.close()
			rs.streams[i] = nil
		}
	}
}

// streamTarget renders a stream step's URL (checked like a request's, see
// checkURL) and its handshake headers; fail, when not "", says why the
// stream cannot be opened (retrying cannot help).
func (rs *runState) streamTarget(url *tmpl, hs []compiledHeader, host *tmpl) (u string, h http.Header, hostv, fail string) {
	u, err := url.render(&rs.sc)
	if err != nil {
		return "", nil, "", "url: " + err.Error()
	}
	u = wireURL(u)
	if err := rs.checkURL(u); err != nil {
		return "", nil, "", err.Error()
	}
	if h, hostv, err = rs.handshakeHeaders(hs, host); err != nil {
		return "", nil, "", err.Error()
	}
	return u, h, hostv, ""
}

// handshakeHeaders renders a stream's request headers.
func (rs *runState) handshakeHeaders(hs []compiledHeader, host *tmpl) (http.Header, string, error) {
	h := make(http.Header, len(hs)+1)
	for i := range hs {
		v, err := hs[i].render(rs)
		if err != nil {
			return nil, "", fmt.Errorf("header %s: %w", hs[i].key, err)
		}
		h[hs[i].key] = []string{v}
	}
	if h["User-Agent"] == nil {
		h["User-Agent"] = rs.r.userAgent
	}
	var hostv string
	if host != nil {
		var err error
		if hostv, err = host.render(&rs.sc); err != nil {
			return nil, "", fmt.Errorf("header Host: %w", err)
		}
	}
	return h, hostv, nil
}
