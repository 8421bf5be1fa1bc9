package clock

import (
	"context"
	"testing"
	"time"
)

// Stepped reports a Manual clock's wall-time steps, not its Set, Advance or
// Sleep, and reads no step between Real's times whose wall and monotonic
// readings moved together.
func TestSteppedSeesManualSteps(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		move func(*Manual)
		want time.Duration
	}{
		{"advance", func(m *Manual) { m.Advance(time.Hour) }, 0},
		{"set", func(m *Manual) { m.Set(t0.Add(-8 * time.Minute)) }, 0},
		{"sleep", func(m *Manual) { _ = m.Sleep(context.Background(), time.Minute) }, 0},
		{"step back", func(m *Manual) { m.Advance(time.Minute); m.Step(-8 * time.Minute); m.Advance(time.Minute) }, -8 * time.Minute},
		{"step forward", func(m *Manual) { m.Step(time.Hour) }, time.Hour},
		{"steps that cancel", func(m *Manual) { m.Step(time.Hour); m.Step(-time.Hour) }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := NewManual(t0)
			a := Read(m)
			c.move(m)
			b := Read(m)
			if got := Stepped(a, b); got != c.want {
				t.Errorf("Stepped = %v, want %v", got, c.want)
			}
			if !b.Wall.Equal(m.Now()) {
				t.Errorf("reading %v, clock at %v", b.Wall, m.Now())
			}
		})
	}
	// Real: times from time.Now carry the monotonic reading; Add moves
	// both, so no step, and a time without one (Round(0)) reads none.
	now := Read(Real{}).Wall
	for _, b := range []time.Time{now.Add(time.Minute), now.Round(0).Add(time.Minute)} {
		if got := Stepped(Reading{Wall: now}, Reading{Wall: b}); got != 0 {
			t.Errorf("Real: Stepped = %v, want 0", got)
		}
	}
}

// A Manual clock's step fires the timers it passes, as Set does.
func TestManualStepFiresTimers(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	m := NewManual(t0)
	fired := make(chan struct{})
	m.AfterFunc(t0.Add(time.Minute), func() { close(fired) })
	m.Step(time.Hour)
	select {
	case <-fired:
	default:
		t.Error("a step forward past a timer did not fire it")
	}
}
