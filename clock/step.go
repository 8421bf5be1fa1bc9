package clock

import "time"

// StepThreshold is the least wall-clock step Step reports. NTP slewing
// (chrony, ntpd) moves the wall clock at most 500 ppm away from the
// monotonic one, 30 ms a minute, and the monotonic clock itself is slewed
// with it on Linux; a step (chrony's makestep, a VM resumed or migrated,
// date -s) is whole seconds or more. A second tells one from the other with
// a reading a minute apart, and is far below what bends a window.
const StepThreshold = time.Second

// Reading is one reading of a clock: its wall time, which carries the
// monotonic reading of time.Now for Real, and for a virtual clock how far
// its wall time has been stepped so far (Manual.Step).
type Reading struct {
	Wall    time.Time
	stepped time.Duration
}

// reader is a virtual clock whose wall time can step apart from its
// monotonic time (Manual).
type reader interface{ read() Reading }

// Read returns c's reading now.
func Read(c Clock) Reading {
	if r, ok := c.(reader); ok {
		return r.read()
	}
	return Reading{Wall: c.Now()}
}

// Stepped returns how far the wall clock stepped between readings a and b
// (b later) of one clock: the wall time that passed less the monotonic time
// that passed, positive for a step forward. Real's readings tell it by the
// monotonic reading time.Now puts in a time.Time; a virtual clock's by the
// steps it was told to make; a clock without either (a clockwork fake, a
// time with its monotonic reading stripped) reports no step.
func Stepped(a, b Reading) time.Duration {
	if d := b.stepped - a.stepped; d != 0 {
		return d
	}
	return b.Wall.Round(0).Sub(a.Wall.Round(0)) - b.Wall.Sub(a.Wall)
}

// Step moves the wall time by d (forwards or backwards) while the clock's
// monotonic time stands still, as a host's clock does when it is stepped,
// and fires the timers at or before the new time. Read and Stepped see
// it; Set and Advance move both times and are no step.
func (m *Manual) Step(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.stepped += d
	m.mu.Unlock()
	m.fire()
}

// read returns the clock's wall time and the steps made so far, together.
func (m *Manual) read() Reading {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Reading{Wall: m.now, stepped: m.stepped}
}
