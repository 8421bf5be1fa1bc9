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
//
// Deadlines follow the same clock: WithDeadline and WithTimeout give a real
// context deadline on the wall clock, and on a virtual clock (one with
// timers, as Manual) a context that ends when the virtual time reaches the
// deadline. A virtual wait past the deadline (Manual.Sleep) ends at the
// deadline, so a target that hangs in a replay fails at its timeout exactly
// as it does live.
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
// speed. Timers (AfterFunc, and so WithDeadline) fire when the clock reaches
// them, in time order: a Sleep that would pass a timer stops there, fires it,
// and goes on, and a Sleep past the virtual deadline of its context ends at
// the deadline. It is safe for concurrent use.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	stepped time.Duration // the sum of the wall-time steps (Step)
	timers  []*timer      // pending, in no particular order
}

type timer struct {
	at time.Time
	f  func()
}

// NewManual returns a Manual clock set to t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's current virtual time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t (forwards or backwards), firing the timers at or
// before t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t
	m.mu.Unlock()
	m.fire()
}

// Advance moves the clock forward by d, firing the timers it reaches.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
	m.fire()
}

// Sleep advances the clock by d without waiting, firing the timers it
// passes in time order. It honours ctx: a context already done returns its
// error and leaves the clock where it was; a context that ends on the way (a
// timer it depends on fired) stops the clock there and returns ctx.Err(); a
// virtual deadline on ctx (WithDeadline) before now+d stops the clock at the
// deadline and returns context.DeadlineExceeded.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	target := m.now.Add(max(d, 0))
	m.mu.Unlock()
	dl, hasDL := VirtualDeadline(ctx)
	if hasDL && !dl.After(target) {
		target = dl
	}
	for {
		m.mu.Lock()
		next, ok := m.nextTimer()
		if !ok || next.After(target) {
			if target.After(m.now) {
				m.now = target
			}
			m.mu.Unlock()
			break
		}
		if next.After(m.now) {
			m.now = next
		}
		m.mu.Unlock()
		m.fire()
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	m.fire() // timers exactly at target
	if err := ctx.Err(); err != nil {
		return err
	}
	if hasDL && !m.Now().Before(dl) {
		return context.DeadlineExceeded
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
	now := m.now
	m.mu.Unlock()
	m.fire() // the timers (virtual deadlines) it passed
	ch <- now
	return ch
}

// AfterFunc calls f (on the goroutine that moves the clock) once the clock
// reaches t; at once, in its own goroutine, when it already has. stop
// cancels the call and reports whether it did so before f ran.
func (m *Manual) AfterFunc(t time.Time, f func()) (stop func() bool) {
	tm := &timer{at: t, f: f}
	m.mu.Lock()
	if !m.now.Before(t) {
		m.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	m.timers = append(m.timers, tm)
	m.mu.Unlock()
	return func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		for i, x := range m.timers {
			if x == tm {
				m.timers = append(m.timers[:i], m.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// nextTimer returns the earliest pending timer's time. Called with m.mu held.
func (m *Manual) nextTimer() (time.Time, bool) {
	var next time.Time
	for i, t := range m.timers {
		if i == 0 || t.at.Before(next) {
			next = t.at
		}
	}
	return next, len(m.timers) > 0
}

// fire runs the timers that are due, earliest first, outside the lock (a
// timer may add or stop others).
func (m *Manual) fire() {
	for {
		m.mu.Lock()
		best := -1
		for i, t := range m.timers {
			if !t.at.After(m.now) && (best < 0 || t.at.Before(m.timers[best].at)) {
				best = i
			}
		}
		if best < 0 {
			m.mu.Unlock()
			return
		}
		t := m.timers[best]
		m.timers = append(m.timers[:best], m.timers[best+1:]...)
		m.mu.Unlock()
		t.f()
	}
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
