package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/httpserve"
	"github.com/slaprobe/slaprobe/platform"
)

// platformMaxConns caps the demo platform's open connections: it is a load
// target for many concurrent probes, so the cap is higher than the daemon's.
const platformMaxConns = 4096

func cmdPlatform(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("platform", "[--listen ADDR] [--timeline FILE]...", stderr)
	listen := fs.String("listen", "127.0.0.1:18080", "address to serve the demo platform on")
	var timelines multiFlag
	fs.Var(&timelines, "timeline", "timeline whose incidents are injected as faults on the wall clock (repeatable)")
	remoteAdmin := fs.Bool("allow-remote-admin", false, "accept /_admin/faults from non-loopback addresses")
	if err := parse(fs, args); err != nil {
		return err
	}
	var tls []*config.Timeline
	for _, p := range timelines {
		t, err := config.LoadTimeline(p, config.Options{})
		if err != nil {
			return usageError{err}
		}
		tls = append(tls, t)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	p := platform.New(platform.Options{Clock: clock.Real{}, Timelines: tls, Logger: log, AllowRemoteAdmin: *remoteAdmin})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usageError{err}
	}
	srv := httpserve.New(p, httpserve.Options{Logger: log, MaxConns: platformMaxConns})
	fmt.Fprintf(stdout, "demo platform listening on http://%s (faults: %d timelines)\n", ln.Addr(), len(tls))
	return srv.Run(ctx, ln)
}
