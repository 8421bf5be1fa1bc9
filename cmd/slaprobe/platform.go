package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/platform"
)

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
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "demo platform listening on http://%s (faults: %d timelines)\n", ln.Addr(), len(tls))
	return serveUntilDone(ctx, srv, ln)
}

// serveUntilDone serves until ctx is done, then shuts down gracefully.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = joinErr(err, serr)
	}
	return err
}
