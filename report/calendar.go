package report

import (
	"errors"
	"fmt"
	"time"
)

// Days and months start at the first instant of their local date, whatever
// the zone does at midnight. Where the clocks jump forward at midnight
// (America/Santiago, America/Asuncion, America/Havana) local midnight does not
// exist and time.Date normalises it to 23:00 of the day before; the day
// really starts at 01:00. Where they fall back across midnight the day before
// has 25 hours. Every boundary a report draws comes from DayStart.

// DayStart returns the first instant of the local date year-month-day in loc
// (midnight, or the end of a clock jump over midnight). Out-of-range months
// and days are normalised as by time.Date.
func DayStart(year int, month time.Month, day int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(year, month, day, 0, 0, 0, 0, loc)
	want := civil(time.Date(year, month, day, 12, 0, 0, 0, time.UTC))
	// The local date is non-decreasing in time (for every zone in use), so
	// the first instant of want is the smallest t with civil(t) >= want.
	// time.Date lands within a day of it: search a window around it at
	// one-second resolution (zone offsets are whole seconds).
	lo, hi := t.Add(-26*time.Hour).Unix(), t.Add(26*time.Hour).Unix()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if civil(time.Unix(mid, 0).In(loc)) >= want {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return time.Unix(lo, 0).In(loc)
}

// civil is t's local date as a sortable number.
func civil(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// dayStart is the first instant of t's local date in loc.
func dayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return DayStart(t.Year(), t.Month(), t.Day(), loc)
}

// nextDay is the first instant of the local date after the one that starts
// at d.
func nextDay(d time.Time, loc *time.Location) time.Time {
	d = d.In(loc)
	return DayStart(d.Year(), d.Month(), d.Day()+1, loc)
}

// MonthRange returns the calendar month "YYYY-MM" in loc as [from, to): the
// first instant of its first day to the first instant of the next month's
// first day, so a month with a DST change is an hour shorter or longer than
// 30 or 31 days.
func MonthRange(month string, loc *time.Location) (from, to time.Time, err error) {
	if loc == nil {
		loc = time.UTC
	}
	// Parsed in UTC: in loc the first of the month may have no midnight.
	t, err := time.Parse("2006-01", month)
	if err != nil || len(month) != 7 {
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message == ": month out of range" && len(month) == 7 {
			return time.Time{}, time.Time{}, fmt.Errorf("month %q: %s is not a month, want 01 to 12", month, month[5:])
		}
		return time.Time{}, time.Time{}, fmt.Errorf("month %q: want YYYY-MM, e.g. 2022-10", month)
	}
	from, to = DayStart(t.Year(), t.Month(), 1, loc), DayStart(t.Year(), t.Month()+1, 1, loc)
	for _, e := range []time.Time{from, to} {
		if err := Writable(e, loc); err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("month %q: %s %w", month, e.In(loc).Format(time.RFC3339), err)
		}
	}
	return from, to, nil
}

// Writable returns an error when t cannot be a report's time in loc: before
// 0001-01-01T00:00:00Z (Go's zero time, which the store's horizon uses for
// "nothing pruned"), or later than 9999-12-31 in loc, the last date RFC 3339
// writes, so that no output could give it (JSON fails on it). Commands check
// their ranges with it before any work.
func Writable(t time.Time, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	if t.Before(time.Time{}) {
		return errors.New("is before 0001-01-01T00:00:00Z, the first instant a report holds")
	}
	if l := t.In(loc); l.Year() > 9999 {
		return fmt.Errorf("is after 9999-12-31 in %s, the last date RFC 3339 writes", loc)
	}
	return nil
}

// MonthStart is the first instant of t's local month in loc.
func MonthStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return DayStart(t.Year(), t.Month(), 1, loc)
}

// LocalTime returns the instant in loc whose local wall-clock time is
// year-month-day hour:min:sec, like time.Date, except for a wall time the
// zone skips (the clocks jump over it): time.Date moves that by the size of
// the jump, to either side (Santiago's 2024-09-08 00:00 becomes 2024-09-07
// 23:00), and LocalTime gives the first instant after the jump (01:00), as
// DayStart does for a day. A wall time that occurs twice (the clocks go back)
// is its first occurrence.
func LocalTime(year int, month time.Month, day, hour, min, sec int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(year, month, day, hour, min, sec, 0, loc)
	want := time.Date(year, month, day, hour, min, sec, 0, time.UTC)
	got := wallClock(t)
	switch {
	case got.Equal(want):
		// Where the clocks went back, the same wall time came first in
		// the zone period before (time.Date may pick either).
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			_, before := start.Add(-time.Nanosecond).Zone()
			if _, off := t.Zone(); before > off {
				if e := t.Add(-time.Duration(before-off) * time.Second); e.Before(start) && wallClock(e).Equal(want) {
					return e
				}
			}
		}
		return t
	case got.Before(want): // t is before the jump: the jump ends its zone period
		_, end := t.ZoneBounds()
		if !end.IsZero() {
			return end
		}
	default: // t is after the jump, which starts its zone period
		if start, _ := t.ZoneBounds(); !start.IsZero() {
			return start.In(loc)
		}
	}
	return t
}

// wallClock is t's local date and time as the same fields in UTC.
func wallClock(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// ParseDate reads a local date "YYYY-MM-DD" as its first instant in loc.
func ParseDate(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, err
	}
	return DayStart(t.Year(), t.Month(), t.Day(), loc), nil
}
