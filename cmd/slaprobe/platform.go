package main

import (
	"bytes"
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
	fs := newFlags("platform", "[--listen ADDR] [--timeline FILE]... [--allow-remote-admin] [--webhook-secret-file FILE] [--allow-remote-callbacks]", stdout, stderr)
	listen := fs.String("listen", "127.0.0.1:18080", "address to serve the demo platform on")
	var timelines multiFlag
	fs.Var(&timelines, "timeline", "timeline whose incidents are injected as faults on the wall clock (repeatable)")
	remoteAdmin := fs.Bool("allow-remote-admin", false, "accept /_admin/faults from non-loopback addresses")
	secretFile := fs.String("webhook-secret-file", "", "file holding the key payment callbacks are signed with (default: the demo's "+platform.DefaultWebhookSecret+")")
	remoteCallbacks := fs.Bool("allow-remote-callbacks", false, "let a transfer's callback_url name a host that is not loopback")
	if err := parse(fs, args); err != nil {
		return err
	}
	var secret []byte
	if *secretFile != "" {
		b, err := readSecretFile(*secretFile)
		if err != nil {
			return usageError{fmt.Errorf("--webhook-secret-file: %w", err)}
		}
		secret = b
	}
	tls, err := config.LoadTimelines(timelines, config.Options{})
	if err != nil {
		return usageError{err}
	}
	timelineWarnings(stderr, tls)
	log := slog.New(slog.NewTextHandler(stderr, nil))
	p := platform.New(platform.Options{Clock: clock.Real{}, Timelines: tls, Logger: log, AllowRemoteAdmin: *remoteAdmin,
		WebhookSecret: secret, AllowRemoteCallbacks: *remoteCallbacks})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return usageError{err}
	}
	srv := httpserve.New(p, httpserve.Options{Logger: log, MaxConns: platformMaxConns})
	fmt.Fprintf(stdout, "demo platform listening on http://%s (faults: %d timelines)\n", ln.Addr(), len(tls))
	// Open streams are not requests a graceful shutdown waits out: end them.
	stop := context.AfterFunc(ctx, p.CloseStreams)
	defer stop()
	return srv.Run(ctx, ln)
}

// readSecretFile reads a small secret file, without its trailing newline.
func readSecretFile(path string) ([]byte, error) {
	b, err := config.ReadFile(path, 4096) // a FIFO or device is refused, never waited on
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return b, nil
}
