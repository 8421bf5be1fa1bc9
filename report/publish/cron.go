package publish

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/slaprobe/slaprobe/internal/gocron"
)

// wallCron is the report schedule as gocron runs it (gocron.Cron, set with
// gocron.WithCronImplementation): a cron expression matched against the
// wall clock of its zone, so that a firing whose wall time the clocks skip
// is not lost. The cron library matches instants and so skips it: in
// America/Asuncion the clocks went from 2023-10-01 00:00 to 01:00, and
// "10 0 1 * *" (or @monthly) went from 09-01 to 11-01, September's report
// a month late. Here such a firing runs at the end of the jump (01:00 -03),
// as cron daemons (cronie, Vixie cron) run the jobs of a skipped hour; a wall
// time the clocks go back over fires once, at its first occurrence.
type wallCron struct {
	loc   *time.Location
	sched cron.Schedule // on wall times written as UTC
	every bool          // "@every D": a duration, on instants
}

var _ gocron.Cron = (*wallCron)(nil)

// IsValid parses crontab: "CRON_TZ=Zone spec" (as crontab makes it) or a
// spec in location.
func (c *wallCron) IsValid(crontab string, location *time.Location, now time.Time) error {
	spec := strings.TrimSpace(crontab)
	loc := location
	for _, pre := range []string{"CRON_TZ=", "TZ="} {
		if rest, ok := strings.CutPrefix(spec, pre); ok {
			name, s, _ := strings.Cut(rest, " ")
			l, err := time.LoadLocation(name)
			if err != nil {
				return errors.Join(gocron.ErrCronJobParse, fmt.Errorf("time zone %q: %w", name, err))
			}
			loc, spec = l, strings.TrimSpace(s)
			break
		}
	}
	if loc == nil {
		loc = time.UTC
	}
	sched, err := cron.ParseStandard("CRON_TZ=UTC " + spec)
	if err != nil {
		return errors.Join(gocron.ErrCronJobParse, err)
	}
	_, every := sched.(cron.ConstantDelaySchedule)
	c.loc, c.sched, c.every = loc, sched, every
	if c.Next(now).IsZero() {
		return gocron.ErrCronJobInvalid
	}
	return nil
}

// Next is the first firing after last: the next wall time the spec
// matches after last's, at the instant it names in the zone, or at the end
// of the clocks' jump over it.
func (c *wallCron) Next(last time.Time) time.Time {
	if c.every {
		return c.sched.Next(last)
	}
	w := wall(last, c.loc)
	for range 1000 { // wall times at or before last's instant: only around a fall-back
		w = c.sched.Next(w)
		if w.IsZero() {
			return w
		}
		t := c.instant(w)
		if t.After(last) {
			return t
		}
		// A wall time the clocks go back over, passed in its first
		// occurrence: its later one, if that is still to come.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			if t2 := c.instant2(w, end); t2.After(last) && wall(t2, c.loc).Equal(w) {
				return t2
			}
		}
	}
	return time.Time{}
}

// instant is the first instant at whose wall time in c.loc is w, or, when
// the clocks skip w, the end of that jump.
func (c *wallCron) instant(w time.Time) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, c.loc)
	got := wall(t, c.loc)
	switch {
	case got.Equal(w):
		return t
	case got.Before(w): // time.Date picked the offset before the jump: it ends where this zone period does
		_, end := t.ZoneBounds()
		return end
	default: // the offset after the jump: it ends where this zone period starts
		start, _ := t.ZoneBounds()
		return start
	}
}

// instant2 is w at the offset in effect from end (the second occurrence of
// a wall time the clocks go back over).
func (c *wallCron) instant2(w, end time.Time) time.Time {
	_, off := end.In(c.loc).Zone()
	return w.Add(-time.Duration(off) * time.Second)
}

// wall is t's wall time in loc, written as a UTC time (no jumps).
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}
