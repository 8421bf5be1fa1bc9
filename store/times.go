package store

import (
	"math"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// Status codes as stored in steps.status.
var statusCodes = map[probe.Status]int64{
	probe.StatusOK: 0, probe.StatusFailed: 1, probe.StatusDegraded: 2, probe.StatusNotRun: 3,
}

var statusNames = []probe.Status{probe.StatusOK, probe.StatusFailed, probe.StatusDegraded, probe.StatusNotRun}

// Times are stored as unix nanoseconds; the zero time is stored as 0.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, math.MaxInt64)
)

func toNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// storable reports whether t fits unix nanoseconds (1970 to 2262).
func storable(t time.Time) bool {
	return !t.Before(minTime) && t.Before(maxTime)
}

// rangeNS turns a query range into nanoseconds; zero ends are open.
func rangeNS(q Query) (int64, int64, error) {
	from, to := int64(0), int64(math.MaxInt64)
	if !q.From.IsZero() {
		if q.From.After(minTime) {
			from = q.From.UnixNano()
			if !q.From.Before(maxTime) {
				from = math.MaxInt64
			}
		}
	}
	if !q.To.IsZero() {
		to = 0
		if q.To.After(minTime) {
			to = math.MaxInt64
			if q.To.Before(maxTime) {
				to = q.To.UnixNano()
			}
		}
	}
	return from, to, nil
}
