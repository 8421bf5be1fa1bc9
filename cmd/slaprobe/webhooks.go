package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/httpserve"
	"github.com/slaprobe/slaprobe/probe"
)

// webhookListener is the callback listener of run and once: the registry
// the runner gives each run's ${webhook.url} from, served on
// webhooks.listen.
type webhookListener struct {
	hooks *probe.Webhooks
	stop  context.CancelFunc
	done  chan error
	once  sync.Once
	err   error
}

// startWebhooks starts the listener on cfg.Webhooks when need says so;
// otherwise it returns nil (and a nil registry is what the
// runner gets).
func startWebhooks(ctx context.Context, cfg *config.Config, need bool, log *slog.Logger, stdout io.Writer) (*webhookListener, error) {
	if !need {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.Webhooks.Listen)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, usagef("webhooks.listen: %v (is `slaprobe run` of this config holding it? its flows' callbacks need their own listener)", err)
		}
		return nil, usagef("webhooks.listen: %v", err)
	}
	public := cfg.Webhooks.PublicURL
	if public == "http://"+cfg.Webhooks.Listen+"/webhooks" {
		public = "http://" + ln.Addr().String() + "/webhooks" // the default, with the port a :0 got
	}
	hooks, err := probe.NewWebhooks(probe.WebhookOptions{PublicURL: public, MaxBodyBytes: cfg.Webhooks.MaxBodyBytes, Logger: log})
	if err != nil {
		ln.Close()
		return nil, err
	}
	// Closed once no run awaits a callback: one still in flight can only be
	// late, and a sender that trickles its body must not hold up the exit.
	srv := httpserve.New(hooks.Handler(), httpserve.Options{Logger: log, ShutdownGrace: -1})
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w := &webhookListener{hooks: hooks, stop: stop, done: make(chan error, 1)}
	go func() { w.done <- srv.Run(sctx, ln) }()
	if stdout != nil {
		fmt.Fprintf(stdout, "webhook callbacks: listening on %s, runs get %s/<token>\n", ln.Addr(), public)
	}
	return w, nil
}

// flowsNeedWebhooks says whether one of flows awaits a callback or names
// ${webhook.url}. `once` starts the listener only then: a flow that needs no
// callback runs beside a daemon holding webhooks.listen. (The daemon starts
// it also for a webhooks block without such flows, so that a reload can add
// them.)
func flowsNeedWebhooks(flows []*config.Flow) bool {
	for _, f := range flows {
		if f.UsesWebhooks() {
			return true
		}
	}
	return false
}

// registry returns the listener's registry (nil for no listener).
func (w *webhookListener) registry() *probe.Webhooks {
	if w == nil {
		return nil
	}
	return w.hooks
}

// close stops the listener and logs what it counted; later calls return
// the first one's error.
func (w *webhookListener) close(log *slog.Logger) error {
	if w == nil {
		return nil
	}
	w.once.Do(func() {
		w.stop()
		w.err = <-w.done
		if st := w.hooks.Stats(); st.Unmatched+st.Late+st.Rejected > 0 {
			log.Info("webhook callbacks", "accepted", st.Accepted, "unmatched", st.Unmatched, "late", st.Late, "rejected", st.Rejected)
		}
	})
	return w.err
}
