package probe

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestTracerContextIsItsParent: the context an attempt's tracer rides in
// (tracer.with, a node of its own rather than context.WithValue) is its
// parent for everything but the tracer: cancellation and its cause, the
// deadline, AfterFunc and WithoutCancel behave as they do from the parent,
// and deriving from it starts no goroutine (context's propagation finds the
// parent's cancel through Value, as through a WithValue node).
func TestTracerContextIsItsParent(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	parent, cancelDeadline := context.WithDeadline(context.Background(), deadline)
	defer cancelDeadline()
	parent, cancel := context.WithCancelCause(parent)
	tr := &tracer{}
	ctx := tr.with(parent)
	if got, _ := ctx.Value(tracerKey{}).(*tracer); got != tr {
		t.Fatalf("Value(tracerKey) = %v, want the tracer", got)
	}
	if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("Deadline = %v %v, want %v", d, ok, deadline)
	}

	before := runtime.NumGoroutine()
	const n = 50
	var children []context.Context
	var cancels []context.CancelFunc
	fired := make(chan struct{}, n)
	for range n {
		c, cf := context.WithCancel(ctx)
		children = append(children, c)
		cancels = append(cancels, cf)
		c, cf = context.WithTimeout(ctx, time.Hour)
		children = append(children, c)
		cancels = append(cancels, cf)
		context.AfterFunc(ctx, func() { fired <- struct{}{} })
	}
	if after := runtime.NumGoroutine(); after > before+2 { // +2: slack for the runtime's own
		t.Errorf("%d goroutines after deriving %d contexts, %d before: one a derived context", after, 3*n, before)
	}
	detached := context.WithoutCancel(ctx)

	cause := errors.New("the run's timeout")
	cancel(cause)
	for i, c := range children {
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("child %d not cancelled with its parent", i)
		}
		if !errors.Is(c.Err(), context.Canceled) || context.Cause(c) != cause {
			t.Errorf("child %d: Err %v, Cause %v, want Canceled and %v", i, c.Err(), context.Cause(c), cause)
		}
	}
	for range n {
		select {
		case <-fired:
		case <-time.After(10 * time.Second):
			t.Fatal("AfterFunc did not run at the parent's cancel")
		}
	}
	if context.Cause(ctx) != cause {
		t.Errorf("Cause(ctx) = %v, want %v", context.Cause(ctx), cause)
	}
	if detached.Err() != nil || detached.Value(tracerKey{}) != tr {
		t.Errorf("WithoutCancel: Err %v, tracer %v; want no error and the tracer", detached.Err(), detached.Value(tracerKey{}))
	}
	for _, cf := range cancels {
		cf()
	}
}
