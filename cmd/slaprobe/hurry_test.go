package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestHurryOnSignalsBackToBack: a second SIGTERM sent as soon as the first
// has cancelled main's signal context hurries the stop. Before, the channel
// that takes the second signal was registered only once the first had
// cancelled the context, and main had given the signal its default
// handling by then: a second signal in between ended the process before
// the spool was written (here, the guard below takes it instead, and hurry
// is never called).
func TestHurryOnSignalsBackToBack(t *testing.T) {
	// A guard, so that no signal of this test ends the test binary.
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGTERM)
	defer signal.Stop(guard)

	for i := range 20 {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() { <-ctx.Done(); stop() }() // as main does
		done := make(chan struct{})
		hurried := make(chan struct{})
		registered(t, func() { hurryOnSecondSignal(ctx, done, func() { close(hurried) }, slog.New(slog.DiscardHandler)) })
		// The second as soon as the first has stopped the daemon (two
		// sent before the first is taken are one: a pending signal is
		// not queued twice).
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		<-ctx.Done()
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-hurried:
		case <-time.After(5 * time.Second):
			t.Fatalf("round %d: two signals back to back did not hurry the stop", i)
		}
		close(done)
		stop()
	}
}

// TestHurryNotOnOneSignal: one signal stops, it does not hurry; and a first
// signal that came before the call counts as the first.
func TestHurryNotOnOneSignal(t *testing.T) {
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGTERM)
	defer signal.Stop(guard)

	for _, before := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		if before {
			cancel()
		}
		done := make(chan struct{})
		hurried := make(chan struct{})
		registered(t, func() { hurryOnSecondSignal(ctx, done, func() { close(hurried) }, slog.New(slog.DiscardHandler)) })
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-hurried:
			if !before {
				t.Fatal("one signal hurried the stop")
			}
		case <-time.After(500 * time.Millisecond):
			if before {
				t.Fatal("a signal after the first (which came before the call) did not hurry the stop")
			}
		}
		close(done)
		cancel()
	}
}

// registered calls register, which must take the signals before it returns,
// and returns at once.
func registered(t *testing.T, register func()) {
	t.Helper()
	ret := make(chan struct{})
	go func() { register(); close(ret) }()
	select {
	case <-ret:
	case <-time.After(2 * time.Second):
		t.Fatal("hurryOnSecondSignal did not return: it must take the signals before the daemon runs, not wait for the first")
	}
}
