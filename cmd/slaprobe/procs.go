package main

import (
	"log/slog"
	"os"
	"runtime"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
)

// procsSizer sets GOMAXPROCS to what the schedule needs (daemon.Procs), at
// most the runtime's default (the cores, or the container's CPU limit),
// at start-up and after each reload. GOMAXPROCS set in the environment wins:
// then nothing is changed.
type procsSizer struct {
	fixed bool          // GOMAXPROCS was set in the environment
	limit int           // the runtime's default
	set   func(int) int // runtime.GOMAXPROCS; tests fake it
	log   *slog.Logger
}

func newProcsSizer(log *slog.Logger) *procsSizer {
	return &procsSizer{fixed: os.Getenv("GOMAXPROCS") != "", limit: runtime.GOMAXPROCS(0), set: runtime.GOMAXPROCS, log: log}
}

// size applies cfg's schedule.
func (p *procsSizer) size(cfg *config.Config) {
	if p.fixed {
		return
	}
	rate := daemon.StepRate(cfg)
	n := daemon.Procs(rate, p.limit)
	if old := p.set(n); old != n {
		p.log.Info("go processors sized to the schedule", "procs", n, "steps_per_second", int(rate+0.5), "max", p.limit)
	}
}
