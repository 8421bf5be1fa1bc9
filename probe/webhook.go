package probe

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/slaprobe/slaprobe/clock"
)

// Webhooks is the correlation registry of webhook callbacks: each run that
// needs one gets a URL of its own (${webhook.url}: the public URL plus a
// token derived from the run id), and the Handler files every callback to
// that URL in the run's inbox, where its await webhook steps look. Calls to
// a token no run holds are counted as late (the run ended) or unmatched,
// answered 404, and forgotten. Memory is bounded: a callback's body, the
// callbacks one run keeps, and the tokens remembered as recently ended.
//
// Pass one Webhooks to the runner (Options.Webhooks) and serve its Handler
// where Options' public URL points: the daemon mounts it on its own handler
// and on the webhooks listener; once and demo do the same.
type Webhooks struct {
	key     []byte
	public  string // without a trailing slash
	maxBody int64
	log     *slog.Logger

	mu     sync.Mutex
	runs   map[string]*inbox // token -> the run's inbox
	ended  map[string]bool   // tokens of recently ended runs, for "late"
	endedQ []string          // ended tokens, oldest first

	accepted, unmatched, late, rejected atomic.Int64
}

// WebhookOptions configure a Webhooks registry.
type WebhookOptions struct {
	// PublicURL is what targets call; a run's URL is PublicURL + "/" +
	// token. Required.
	PublicURL string
	// Key derives a run's token from its run id (HMAC-SHA256); nil: random.
	// A fixed key makes the URLs of a replay the same every time.
	Key []byte
	// MaxBodyBytes bounds one callback; default 1 MiB.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// Limits of what the registry keeps.
const (
	maxRunCallbacks  = 64      // callbacks one run keeps before refusing more
	maxRunHookBytes  = 8 << 20 // bytes of callbacks one run keeps
	maxEndedTokens   = 4096    // ended runs remembered, to count late callbacks
	defaultHookBytes = 1 << 20
)

// NewWebhooks returns a registry for callbacks to opts.PublicURL.
func NewWebhooks(opts WebhookOptions) (*Webhooks, error) {
	if opts.PublicURL == "" {
		return nil, errors.New("probe: webhooks need a public URL")
	}
	w := &Webhooks{
		key:     opts.Key,
		public:  strings.TrimRight(opts.PublicURL, "/"),
		maxBody: opts.MaxBodyBytes,
		log:     opts.Logger,
		runs:    map[string]*inbox{},
		ended:   map[string]bool{},
	}
	if w.key == nil {
		w.key = make([]byte, 32)
		_, _ = rand.Read(w.key) // never fails (crypto/rand)
	}
	if w.maxBody <= 0 {
		w.maxBody = defaultHookBytes
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w, nil
}

// WebhookStats count the callbacks the registry received.
type WebhookStats struct {
	Accepted  int64 // filed for a running run
	Unmatched int64 // to a token no run held, or left unread when the run ended
	Late      int64 // to a run that had already ended
	Rejected  int64 // too large, or over a run's limits
}

// Stats returns the counts so far.
func (w *Webhooks) Stats() WebhookStats {
	return WebhookStats{Accepted: w.accepted.Load(), Unmatched: w.unmatched.Load(), Late: w.late.Load(), Rejected: w.rejected.Load()}
}

// token derives a run's token from its id: 128 bits of HMAC-SHA256.
func (w *Webhooks) token(runID string) string {
	m := hmac.New(sha256.New, w.key)
	m.Write([]byte(runID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// register opens the inbox of a run; release (call it once, when the run
// ends) closes it and counts what no await read.
func (w *Webhooks) register(runID string, c clock.Clock) (url string, box *inbox, release func()) {
	tok := w.token(runID)
	box = newInbox("webhook", c, maxRunCallbacks, maxRunHookBytes)
	w.mu.Lock()
	w.runs[tok] = box
	w.mu.Unlock()
	return w.public + "/" + tok, box, func() {
		w.mu.Lock()
		if w.runs[tok] == box {
			delete(w.runs, tok)
		}
		if !w.ended[tok] {
			w.ended[tok] = true
			w.endedQ = append(w.endedQ, tok)
			if len(w.endedQ) > maxEndedTokens {
				delete(w.ended, w.endedQ[0])
				w.endedQ[0] = ""
				w.endedQ = w.endedQ[1:]
			}
		}
		w.mu.Unlock()
		if n := box.pending(); n > 0 {
			w.unmatched.Add(int64(n))
		}
		box.end(errors.New("webhook: the run ended"))
	}
}

// Handler serves callbacks: any method, to a path whose last segment is a
// run's token. It files the callback in the run's inbox before it answers
// 200; an unknown or ended run's token gets 404, a body over the limit 413.
func (w *Webhooks) Handler() http.Handler {
	return http.HandlerFunc(w.serve)
}

func (w *Webhooks) serve(rw http.ResponseWriter, r *http.Request) {
	tok := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	w.mu.Lock()
	box, ok := w.runs[tok]
	late := !ok && w.ended[tok]
	w.mu.Unlock()
	if !ok {
		if late {
			w.late.Add(1)
		} else {
			w.unmatched.Add(1)
		}
		http.Error(rw, "no run is waiting for this callback", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, w.maxBody+1))
	if err != nil {
		w.rejected.Add(1)
		http.Error(rw, "cannot read the body", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > w.maxBody {
		w.rejected.Add(1)
		http.Error(rw, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	// Counted before an await can take it: a run that saw the callback
	// sees it counted.
	if err := box.deliverThen(message{data: body, method: r.Method, header: r.Header.Clone()}, func() { w.accepted.Add(1) }); err != nil {
		w.rejected.Add(1)
		http.Error(rw, "too many callbacks for this run", http.StatusTooManyRequests)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	io.WriteString(rw, `{"ok":true}`+"\n")
}
