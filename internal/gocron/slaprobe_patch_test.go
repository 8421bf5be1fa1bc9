package gocron

import (
	"context"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
)

// TestRescheduleKeepsNoCopyOfTheJob is the test of slaprobe's patch (see
// PATCHES.md). Upstream's selectExecJobsOutForRescheduling armed the next
// run's timer with a closure that read j.id from its local copy of the job
// record, which moved that copy (about 560 bytes) to the heap at every run
// and kept it live until the timer fired: a whole interval, so one extra job
// record per job, 28 MB at 50,000 jobs. The patched closure keeps only the
// id, so a reschedule allocates less than one job record.
func TestRescheduleKeepsNoCopyOfTheJob(t *testing.T) {
	fc := clockwork.NewFakeClockAt(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &scheduler{
		shutdownCtx: ctx,
		location:    time.UTC,
		exec:        executor{ctx: ctx, clock: fc, jobsIn: make(chan jobIn)},
		jobs:        map[uuid.UUID]internalJob{},
	}
	id := uuid.New()
	s.jobs[id] = internalJob{id: id, name: "flow", jobSchedule: &durationJob{duration: time.Minute}, startTime: fc.Now()}

	// Each call is one run's reschedule: the next due time is appended to
	// nextScheduled, which the run's completion trims again (here: emptied
	// in place, so the slice does not grow and its capacity is reused).
	reschedule := func() {
		s.selectExecJobsOutForRescheduling(id)
		j := s.jobs[id]
		if len(j.nextScheduled) != 1 || j.timer == nil {
			t.Fatalf("after a reschedule: nextScheduled %v, timer %v; want one due time and a timer", j.nextScheduled, j.timer)
		}
		j.nextScheduled = j.nextScheduled[:0]
		s.jobs[id] = j
	}
	const calls = 200
	reschedule() // the slice gets its capacity
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		reschedule()
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / calls
	record := uint64(unsafe.Sizeof(internalJob{}))
	if perCall >= record {
		t.Errorf("a reschedule allocates %d bytes, at least a job record (%d bytes): the timer's closure keeps a copy of the job again", perCall, record)
	}
	t.Logf("a reschedule allocates %d bytes; a job record is %d", perCall, record)
}
