// Package clock is the one source of time for slaprobe.
//
// Everything that reads the time or waits takes a Clock, so that tests and the
// demo replay run in virtual time: a replay of a 127-hour outage costs seconds,
// and a "slow" fault of 20 s on the demo platform costs 20 s of virtual time,
// not real time.
//
// The live daemon uses Real. The demo gives every run a Manual clock set to the
// run's scheduled virtual time; the demo platform finds it in the request's
// context (FromContext), so a slow fault advances the run's clock instead of
// sleeping, and the runner measures the step as slow as it would have been.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d or until ctx is done, whichever is first; it returns
	// ctx.Err() when the context ended the wait.
	Sleep(ctx context.Context, d time.Duration) error
	// After returns a channel that receives the clock's time once d has
	// passed on it, so that "something arrived or the deadline passed" is
	// one select in virtual time as in real time. Nothing needs to stop it.
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Sleep waits on a timer, or until ctx is done.
func (Real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// After is time.After (an unreferenced timer is collected, since Go 1.23).
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Manual is a virtual clock that moves only when told to. Sleep advances it
// at once instead of waiting, so code that sleeps in virtual time runs at full
// speed. It is safe for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a Manual clock set to t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's current virtual time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t (forwards or backwards).
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t
	m.mu.Unlock()
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

// Sleep advances the clock by d without waiting. It still honours ctx: a done
// context returns its error and leaves the clock where it was.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		m.Advance(d)
	}
	return nil
}

// After advances the clock by d at once, as Sleep does, and returns a
// channel that is already ready with the new time: in virtual time nothing
// else moves the clock, so a wait that nothing ends before its deadline ends
// at the deadline without taking real time. A caller that selects on it and
// on another channel should look at the other channel first.
func (m *Manual) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	m.mu.Lock()
	if d > 0 {
		m.now = m.now.Add(d)
	}
	ch <- m.now
	m.mu.Unlock()
	return ch
}

type ctxKey struct{}

// NewContext returns a context that carries c. The demo uses it to hand each
// run's virtual clock to the in-process platform through the HTTP request.
func NewContext(ctx context.Context, c Clock) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the clock carried by ctx, or def when there is none.
func FromContext(ctx context.Context, def Clock) Clock {
	if c, ok := ctx.Value(ctxKey{}).(Clock); ok {
		return c
	}
	return def
}
