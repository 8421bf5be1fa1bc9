package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/slaprobe/slaprobe/internal/redact"
)

func cmdCheck(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "--config FILE", stdout, stderr)
	path := fs.String("config", "", "config file to validate (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	for _, ref := range cfg.ShortSecrets() {
		fmt.Fprintf(stderr, "%s: warning: the secret ${%s} is shorter than %d bytes, too short to be redacted from messages (it would mangle them): use a longer secret\n", *path, ref, redact.MinLen)
	}
	for _, w := range cfg.Warnings(cfg.Storage.Driver) {
		at := *path
		if w.File != "" {
			at = w.File
		}
		if w.Line > 0 {
			at += ":" + strconv.Itoa(w.Line)
		}
		fmt.Fprintf(stderr, "%s: %s: warning: %s\n", at, w.Key, w.Msg)
	}
	flows, steps, more := 0, 0, 0
	for _, s := range cfg.Services {
		flows += len(s.Flows)
		for _, f := range s.Flows {
			steps += len(f.Steps)
			more += len(f.Teardown)
			if f.Session != nil {
				more += len(f.Session.Steps)
			}
		}
	}
	stepsSaid := counted(steps, "step")
	if more > 0 {
		stepsSaid += " (and " + strconv.Itoa(more) + " in sessions or teardowns)"
	}
	incidents := 0
	for _, t := range cfg.Timelines {
		incidents += len(t.Incidents)
	}
	fmt.Fprintf(stdout, "%s: ok: %s, %s, %s, %s with %s\n", *path, counted(len(cfg.Services), "service"),
		counted(flows, "flow"), stepsSaid, counted(len(cfg.Timelines), "timeline"), counted(incidents, "declared incident"))
	return nil
}

// counted is n and what it counts, in the plural but for one: "1 timeline",
// "2 timelines", "0 declared incidents".
func counted(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
