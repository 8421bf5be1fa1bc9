package daemon

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// Reconfigurer is what takes the config a reload applied besides the
// daemon: the status page, the report publisher, the notifier's zone.
type Reconfigurer interface {
	SetConfig(cfg *config.Config)
}

// ReconfigureFunc is a function as a Reconfigurer.
type ReconfigureFunc func(cfg *config.Config)

// SetConfig calls f.
func (f ReconfigureFunc) SetConfig(cfg *config.Config) { f(cfg) }

// Reloader is a SIGHUP reload (`slaprobe run` calls Reload at each):
//
//   - once the daemon is stopping (a SIGHUP with or after SIGTERM), it is
//     ignored, with an info line; slaprobe_config_last_reload_successful
//     stays as it was;
//   - the config is loaded first, outside the daemon's exclusive turn (a
//     report build in the making goes on, but none begins until the
//     reload is done: the builds wait, as for the turn): one
//     that does not load is logged with all its errors (file, line, key),
//     the metric goes to 0, and nothing else happens: no report build in
//     the making is ended, nothing waits for it (an operator saving the file
//     twice, a tool writing it in two steps, do not keep the status page's
//     history from finishing); so is one the daemon refuses whatever it
//     would compile (another location, a flow run faster than the floor),
//     a reload whose ctx ended while it read, and one the daemon began to
//     stop during (ignored, as above): the turn is taken only for a config
//     the daemon is to take;
//   - a config that loads takes the turn (ExclusiveWithin: the report build
//     in the making is ended, its figures being of the config replaced, and
//     the builds wait), the daemon takes it (Daemon.Reload), and then each
//     of Then, before the builds waiting for their turn get it (one that
//     read the page's config now would build the old config's figures).
//
// Reloads run one at a time (the later SIGHUP's file is the one that
// stays, even if two goroutines call Reload).
//
// A reload runs as one heavy phase (Deps.Heavy, a lower GOGC), from the
// file's read to the "config reloaded" line: the parse's garbage (the YAML
// pieces) is collected once, before the daemon builds the new flows, so
// that a reload's peak is the larger of the two, not their sum; the phase
// ends (cmd/slaprobe then collects and gives the memory back) once the
// reload is logged. It was two phases, the parse's and the turn's, whose
// ends collected the heap, with the collection after the parse between
// them: three full collections of the daemon's heap (~190 MB live at
// 50,000 flows, 0.2-0.5 s each) within the reload's timed part.
type Reloader struct {
	Daemon *Daemon
	// Load reads and checks the config file (with the command line's
	// overrides).
	Load func() (*config.Config, error)
	// File is the config file, named in the log.
	File string
	// Then take the new config, in this order, within the reload's turn.
	Then   []Reconfigurer
	Logger *slog.Logger

	mu sync.Mutex // one Reload at a time
}

// Reload reloads the config once; it returns the load's or the daemon's
// error (both logged), nil when the config was reloaded or the reload
// ignored (stopping), ctx's error when ctx ended while it read the config
// or waited for its turn.
func (r *Reloader) Reload(ctx context.Context) error {
	// One at a time: a reload that read the file before another applied
	// it must not apply the older file after.
	r.mu.Lock()
	defer r.mu.Unlock()
	d, log := r.Daemon, r.Logger
	if log == nil {
		log = d.log
	}
	if d.Stopping() {
		log.Info("reload ignored: shutting down; the running config stays")
		return nil
	}
	// No report build begins while the file is read: at 50,000 flows the
	// parse holds ~50 MB live and a build ~100 MB, and the two at once
	// made the peak (#11). A build already in the making is not ended
	// (the file may not load): it goes on beside the parse.
	defer d.holdBuilds(false)()
	began := d.clock.Now()
	endHeavy := func() {}
	if d.heavy != nil {
		endHeavy = d.heavy()
	}
	// Every path ends the phase, a panic's too; the reload that applies
	// ends it once logged (the end may collect the heap, which is no part
	// of the reload).
	defer func() { endHeavy() }()
	next, loadErr := r.Load()
	parsed := d.clock.Now()
	// The turn ends the report build in the making: take it only for a
	// config the daemon will take (stopping, ctx ended, a config refused,
	// each end nothing).
	if d.Stopping() {
		log.Info("reload ignored: shutting down; the running config stays")
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if loadErr != nil {
		d.ReloadRejected()
		log.Error("reload rejected; keeping the running config", "errors", loadErr.Error())
		return loadErr
	}
	if err := d.refuses(next); err != nil {
		d.ReloadRejected()
		log.Error("reload failed; keeping the running config", "err", err)
		return err
	}
	// As at start-up: the YAML tree is garbage once parsed, so collect it
	// before the daemon compiles the new flows, which then reuse its memory.
	runtime.GC()
	collected := d.clock.Now()
	var turn, applied time.Time
	var err error
	alone, e := d.exclusiveWithin(ctx, ReloadBuildWait, false, func() {
		turn = d.clock.Now()
		err = d.Reload(next)
		applied = d.clock.Now()
		if err != nil {
			return
		}
		for _, c := range r.Then {
			c.SetConfig(next)
		}
	})
	if e != nil {
		return e // stopping
	}
	if !alone {
		log.Warn("reload: a report build in the making did not give way in time (store slow or not answering?); reloaded beside it", "waited", ReloadBuildWait)
	}
	if errors.Is(err, ErrShuttingDown) {
		log.Info("reload ignored: shutting down; the running config stays")
		return nil
	}
	if err != nil {
		log.Error("reload failed; keeping the running config", "err", err)
		return err
	}
	ms := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	log.Info("config reloaded", "file", r.File, "took", ms(d.clock.Now().Sub(began)),
		"parse", ms(parsed.Sub(began)), "gc", ms(collected.Sub(parsed)), "turn", ms(turn.Sub(collected)), "apply", ms(applied.Sub(turn)))
	// The old config and its compiled flows are garbage now: the phase's
	// end gives the memory back (cmd/slaprobe's collects the heap and
	// returns its free pages), after the reload is logged as done. Without
	// Deps.Heavy the daemon does that itself.
	end := endHeavy
	endHeavy = func() {}
	end()
	if d.heavy == nil {
		debug.FreeOSMemory()
	}
	return nil
}
