package main

import (
	"context"
	"io"

	"github.com/slaprobe/slaprobe/alert"
)

func cmdRules(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rules", "--config FILE", stdout, stderr)
	path := fs.String("config", "", "config file (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// The rules need no flow's secrets (they are made where Prometheus
	// runs, not where the probe does): loaded as windows and report are.
	cfg, err := loadResultsConfig(*path)
	if err != nil {
		return err
	}
	out, err := alert.Rules(cfg)
	if err != nil {
		return err
	}
	_, err = stdout.Write(out)
	return err
}
