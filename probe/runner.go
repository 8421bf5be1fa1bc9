package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// Options configure a Runner. The zero value is usable.
type Options struct {
	Clock     clock.Clock       // default clock.Real{}; a clock in the run's context wins
	Transport http.RoundTripper // default: the runner's own tuned transports; the demo passes an in-process one
	Logger    *slog.Logger      // default slog.New(slog.DiscardHandler)
	NewID     func() string     // run ids; default random 16-hex; an ID in the run's context wins (WithRunID)
	// Transports, when set, supplies the transports (one per TLS setting);
	// runners built with the same set share them and their connections. nil:
	// the runner's own set. Unused when Transport is set.
	Transports *Transports
	// Webhooks files callbacks for the runs' await webhook steps and gives
	// each run its ${webhook.url}; nil: flows that use webhooks fail those
	// steps with "no webhook listener".
	Webhooks *Webhooks
	// Previous, when set, is the runner this one replaces (a config
	// reload): a flow of the new config that is the same as Previous's
	// flow of that name (but for source lines), under the same secrets and
	// defaults, takes over its compiled form instead of being compiled
	// again (see Reused). Previous itself is only read.
	Previous *Runner
}

// runIDKey is the context key of a run's ID.
type runIDKey struct{}

// WithRunID returns a context that makes Run use id as the run's ID instead
// of calling Options.NewID: the ID belongs to the run, so one runner serves
// callers that number runs their own way (the replay names each run after its
// flow and due time).
func WithRunID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, runIDKey{}, id)
}

// runID returns the run's ID: from the context, or a new one.
func (r *Runner) runID(ctx context.Context) string {
	if id, ok := ctx.Value(runIDKey{}).(string); ok && id != "" {
		return id
	}
	return r.newID()
}

// maxAdHocFlows bounds the cache of compiled flows that are not in the
// config (a caller that passes a fresh copy of a flow each time must not grow
// the cache without end).
const maxAdHocFlows = 256

// Runner executes flows. It keeps the compiled form of each flow (templates,
// JSONPaths, regular expressions parsed once) and one HTTP transport per
// distinct TLS setting, shared by all runs. Run is safe for concurrent use.
type Runner struct {
	cfg        *config.Config
	clock      clock.Clock
	log        *slog.Logger
	newID      func() string
	rt         http.RoundTripper // Options.Transport, or nil
	pool       *Transports       // where transports come from when rt is nil
	red        *redact.Redactor  // every form of every secret value (internal/redact)
	secretVals []string          // the secret values long enough to redact
	hooks      *Webhooks
	// userAgent is sent unless a step sets its own; shared, never modified.
	userAgent []string

	// states are finished runs' runState, with their buffers, for the next
	// runs: a pointer, and a pooled state points to no runner. The runtime
	// lists every sync.Pool that has been used until two collections after
	// its last use (its victim cache), and a Pool inside the Runner kept the
	// whole runner alive that long, its config and compiled flows with it:
	// after a SIGHUP at 50,000 flows, the replaced config (~45 MB) stayed
	// live until the collection after the reload's, in practice the status
	// page's next rebuild, which then peaked with both configs in memory.
	states *sync.Pool

	reused int // flows whose compiled form came from Options.Previous

	mu         sync.Mutex
	flows      map[*config.Flow]*compiledFlow // the config's flows
	adhoc      map[*config.Flow]*compiledFlow // others, bounded
	transports map[config.TLS]*http.Transport // this runner's, from pool

	sessMu   sync.Mutex
	sessions map[*compiledFlow]*sessionData // live sessions, by flow
	retired  bool                           // replaced by another runner (Retire): keeps no session
}

// NewRunner compiles every flow of cfg (but those it takes over from
// Options.Previous) and builds the transports their TLS settings need. A
// template, JSONPath or regular expression that does not
// parse, an undefined variable, a secret missing from cfg.Secrets or an
// unreadable CA file is an error naming the flow and step.
func NewRunner(cfg *config.Config, opts Options) (*Runner, error) {
	if cfg == nil {
		return nil, errors.New("probe: nil config")
	}
	r := &Runner{
		cfg:        cfg,
		clock:      opts.Clock,
		log:        opts.Logger,
		newID:      opts.NewID,
		rt:         opts.Transport,
		pool:       opts.Transports,
		hooks:      opts.Webhooks,
		flows:      map[*config.Flow]*compiledFlow{},
		adhoc:      map[*config.Flow]*compiledFlow{},
		transports: map[config.TLS]*http.Transport{},
		userAgent:  []string{"slaprobe"},
		states:     new(sync.Pool),
	}
	if r.clock == nil {
		r.clock = clock.Real{}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.newID == nil {
		r.newID = randomID
	}
	if r.pool == nil && r.rt == nil {
		r.pool = NewTransports()
	}
	r.red = cfg.Redactor()
	for _, v := range cfg.Secrets {
		for _, s := range []string{v, strings.TrimSpace(v)} {
			if len(s) >= redact.MinLen && !slices.Contains(r.secretVals, s) {
				r.secretVals = append(r.secretVals, s)
			}
		}
	}

	prev := previousFlows(opts.Previous, cfg)
	cache := newCompileCache()
	same := NewFlowComparer()
	var errs []error
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		for j := range svc.Flows {
			f := &svc.Flows[j]
			var cf *compiledFlow
			if p, ok := prev[f.Name]; ok && same.Same(p.f, f) {
				cf = p.cf
				r.reused++
			} else {
				cf = compileFlow(f, cfg.Secrets, cfg.Defaults, cache)
			}
			if cf.err != nil {
				errs = append(errs, fmt.Errorf("service %s: %s", svc.Name, r.redact(cf.err.Error())))
			}
			r.flows[f] = cf
			if r.rt == nil {
				if _, err := r.transport(cf.tlsConfig()); err != nil {
					errs = append(errs, fmt.Errorf("service %s: flow %s: %w", svc.Name, f.Name, err))
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// randomID returns 16 random hex digits.
func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// compiled returns the compiled form of f, compiling it on first use.
func (r *Runner) compiled(f *config.Flow) *compiledFlow {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cf, ok := r.flows[f]; ok {
		return cf
	}
	if cf, ok := r.adhoc[f]; ok {
		return cf
	}
	cf := compileFlow(f, r.cfg.Secrets, r.cfg.Defaults, nil)
	if len(r.adhoc) >= maxAdHocFlows {
		clear(r.adhoc)
	}
	r.adhoc[f] = cf
	return cf
}

// transport returns the round tripper for a TLS setting.
func (r *Runner) transport(t config.TLS) (http.RoundTripper, error) {
	if r.rt != nil {
		return r.rt, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if tr, ok := r.transports[t]; ok {
		return tr, nil
	}
	tr, err := r.pool.get(t)
	if err != nil {
		return nil, err
	}
	r.transports[t] = tr
	return tr, nil
}

// CloseIdle closes the idle keep-alive connections of the runner's
// transports (and of Options.Transport, when it can).
func (r *Runner) CloseIdle() {
	if c, ok := r.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tr := range r.transports {
		tr.CloseIdleConnections()
	}
}

// redact replaces every form of every secret value with ***. A run's
// messages go through runState.redact, whose redactor also holds the run's
// own credentials (extra), so that a secret and a credential that overlap
// in a message are masked together: redacted one set after the other, the
// password "abcd1234" and a token "4xyz9876" left "***xyz9876" of
// "abcd1234xyz9876".
func (r *Runner) redact(s string) string { return r.red.Redact(s) }

// maxPooledBuf keeps a run that read a huge body from pinning its buffer.
const maxPooledBuf = 256 << 10
