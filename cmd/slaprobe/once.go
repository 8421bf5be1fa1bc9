package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
)

func cmdOnce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("once", "--config FILE [--flow NAME] [--format text|json]", stdout, stderr)
	path := fs.String("config", "", "config file (required)")
	only := fs.String("flow", "", "run only this flow")
	format := fs.String("format", "text", "output: text or json")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := oneOf("format", *format, "text", "json"); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	var flows []*config.Flow
	for i := range cfg.Services {
		for j := range cfg.Services[i].Flows {
			f := &cfg.Services[i].Flows[j]
			if *only == "" || f.Name == *only {
				flows = append(flows, f)
			}
		}
	}
	if len(flows) == 0 && *only == "" {
		return usagef("%s has no flows to run", *path)
	}
	if len(flows) == 0 {
		return usagef("--flow %q: no such flow in %s", *only, *path)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hooks, err := startWebhooks(ctx, cfg, flowsNeedWebhooks(flows), log, nil)
	if err != nil {
		return err
	}
	defer hooks.close(log) //nolint:errcheck // a listener that stops badly changes no result
	runner, err := probe.NewRunner(cfg, probe.Options{Logger: log, Webhooks: hooks.registry()})
	if err != nil {
		return usageError{err}
	}
	defer runner.CloseIdle()

	// Flows run concurrently, a few at a time; the output keeps config order.
	runs := make([]probe.Run, len(flows))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, f := range flows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			runs[i] = runner.Run(ctx, f)
		}()
	}
	wg.Wait()
	// The sessions the runs logged in end here (their session_end teardown:
	// a logout), as when `run` stops, even when the command was interrupted.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sessionEndWait)
	runner.EndSessionsInto(endCtx, runs)
	cancel()

	if *format == "json" {
		err = probe.WriteJSON(stdout, runs, cfg.Loc)
	} else {
		err = probe.WriteText(stdout, runs)
	}
	if err != nil {
		return err
	}
	for i := range runs {
		if !runs[i].OK() {
			return errFailure
		}
	}
	return nil
}

// sessionEndWait bounds the session_end teardown steps `once` runs at its
// end (as the daemon's at shutdown).
const sessionEndWait = 10 * time.Second
