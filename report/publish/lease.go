package publish

import (
	"context"
	"time"

	"github.com/slaprobe/slaprobe/store"
)

// lead tells whether this prober publishes: it holds the publisher lease.
// It claims the lease (a free one, its own, or one that has gone stale),
// or, when its last claim is less than LeaseCheck old and force is not
// set, answers from that claim (the delivery loop asks every second; the
// lease loop claims every LeaseCheck). A lease another prober holds is
// stale once this prober has seen it unchanged (holder and beat) for
// LeaseStale on its own clock: only durations on one clock are compared,
// so clocks that differ between probers neither shorten nor lengthen the
// wait. An error (the database unreachable) counts as not holding it, for
// this call: nothing it would do could be recorded anyway; the next claim
// is tried at the next call.
func (p *Publisher) lead(ctx context.Context, force bool) (bool, error) {
	p.leaseMu.Lock()
	defer p.leaseMu.Unlock()
	now := p.clk.Now()
	if !force && !p.checked.IsZero() && now.Sub(p.checked) < p.opts.LeaseCheck {
		return p.holding, nil
	}
	var stale store.Lease
	if p.seen.Holder != "" && now.Sub(p.seenAt) >= p.opts.LeaseStale {
		stale = p.seen
	}
	// Bounded by LeaseCheck: a claim the database does not answer (its
	// connection hung) is an error after a renewal's period, so that a
	// holder whose renewals hang says it does not publish (0) before
	// another prober takes over (1) rather than both saying 1.
	cctx, cancel := context.WithTimeout(ctx, p.opts.LeaseCheck)
	l, err := p.opts.Store.ClaimPublisher(cctx, p.me, now, stale)
	cancel()
	if err != nil {
		// Not held for this call; the state stays, so that the next
		// claim that works neither logs a new start nor runs a cycle
		// when nothing moved (a database restart).
		p.publishing.Set(0)
		p.beat = -1 // the failed claim may have been committed: no baseline
		return false, err
	}
	was := p.holding
	p.checked, p.holding = now, l.Holder == p.me
	if p.holding && !was {
		p.took = true
	}
	if p.holding && was && p.beat >= 0 && l.Beat != p.beat+1 && !p.twin {
		// Every claim adds 1: more between two of this prober's claims
		// are another process's, under the same location, which the
		// lease takes for this one. Both publish.
		p.twin = true
		p.log.Error("another prober with this location claims the publisher lease too: both publish, and their versions may alternate; give each prober its own location",
			"location", p.me, "claims_between", l.Beat-p.beat-1)
	}
	p.beat = l.Beat
	switch {
	case p.holding && !was && stale.Holder != "":
		p.log.Warn("publishing the reports: took the publisher role over from a prober that stopped renewing it",
			"location", p.me, "from", stale.Holder, "last_renewed", stale.Renewed, "unchanged_for", now.Sub(p.seenAt))
	case p.holding && !was:
		p.log.Info("publishing the reports: this prober holds the publisher role", "location", p.me)
	case !p.holding && was:
		p.log.Warn("not publishing the reports any more: another prober took the publisher role over", "location", p.me, "publisher", l.Holder)
	case !p.holding && (l.Holder != p.seen.Holder || p.seen.Holder == ""):
		p.log.Info("not publishing the reports: another prober holds the publisher role", "location", p.me, "publisher", l.Holder, "since", l.Since)
	}
	if p.holding {
		p.seen, p.seenAt = store.Lease{}, time.Time{}
		p.began = l.Began
		p.publishing.Set(1)
	} else {
		if l.Holder != p.seen.Holder || l.Beat != p.seen.Beat {
			// Seen when the claim returned, not when it began: a claim
			// that stalled (the database connection hung for minutes)
			// would date the sight of a lease renewed a moment ago from
			// before the stall, and the next look would take it over.
			p.seen, p.seenAt = l, p.clk.Now()
		}
		p.publishing.Set(0)
	}
	return p.holding, nil
}

// publisher is the holder of the lease as this prober last saw it.
func (p *Publisher) publisher() string {
	p.leaseMu.Lock()
	defer p.leaseMu.Unlock()
	if p.holding {
		return p.me
	}
	return p.seen.Holder
}

// leaseLoop renews the lease (or looks at it) every LeaseCheck until ctx is
// done. When this prober has taken the role (over), here or in a delivery
// loop's look, and no cycle has run since, it makes one run at once: the months due at the scheduled time, which the
// prober that stopped may not have made, are not left for the next one.
// started is closed once the startup cycle is over and the schedule runs.
func (p *Publisher) leaseLoop(ctx context.Context, started <-chan struct{}) {
	for {
		ok, err := p.lead(ctx, true)
		if err != nil && ctx.Err() == nil {
			p.log.Warn("publisher lease", "location", p.me, "err", err)
		}
		p.leaseMu.Lock()
		pending := ok && p.took
		p.leaseMu.Unlock()
		if pending {
			select {
			case <-started:
				p.mu.Lock()
				j := p.job
				p.mu.Unlock()
				if j != nil {
					p.log.Info("making the reports that are due, as the new publisher", "location", p.me)
					if err := j.RunNow(); err != nil {
						p.log.Warn("reports after taking the publisher role", "err", err)
					}
				}
			default: // the startup cycle, still to come or running, makes them
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.clk.After(p.opts.LeaseCheck):
		}
	}
}

// release gives the lease up at shutdown, so that another prober takes
// it at its next look rather than after LeaseStale.
func (p *Publisher) release(ctx context.Context) {
	p.leaseMu.Lock()
	defer p.leaseMu.Unlock()
	if !p.holding {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.opts.Store.ReleasePublisher(ctx, p.me); err != nil {
		p.log.Warn("publisher role not released: another prober takes it over once the lease is stale", "location", p.me, "err", err)
		return
	}
	p.holding = false
	p.publishing.Set(0)
	p.log.Info("publisher role released", "location", p.me)
}
