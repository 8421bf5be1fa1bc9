package gocron

import (
	"context"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
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

// runJobExecutor is an executor for runJob alone: buffered channels for what
// runJob sends back to the scheduler (emptied after each call), no
// scheduler, monitor, locker or elector.
func runJobExecutor(ctx context.Context) *executor {
	return &executor{
		ctx:               ctx,
		clock:             clockwork.NewRealClock(),
		logger:            &noOpLogger{},
		jobsOutCompleted:  make(chan uuid.UUID, 1),
		jobsOutRunStarted: make(chan jobRunStarted, 1),
		jobTimingUpdateCh: make(chan jobTimingUpdate, 2),
	}
}

// TestRunWithoutHooksBoxesNothing is the test of the patch of runJob's hook
// calls (PATCHES.md): upstream called callJobFuncWithParams for the
// beforeJobRuns, beforeJobRunsSkipIfBeforeFuncErrors and afterJobRuns hooks
// whether they were set or not, and each call boxed j.id and j.name into
// its ...any parameters (two allocations, six a run) before it found no
// function to call. Patched, runJob with no hooks allocates no more than
// the call of its task.
func TestRunWithoutHooksBoxesNothing(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := runJobExecutor(ctx)
	ran := 0
	j := internalJob{id: uuid.New(), name: "flow", ctx: ctx, function: func() { ran++ }}
	run := func() {
		e.runJob(j, jobIn{id: j.id})
		for drained := false; !drained; {
			select {
			case <-e.jobsOutCompleted:
			case <-e.jobsOutRunStarted:
			case <-e.jobTimingUpdateCh:
			default:
				drained = true
			}
		}
	}
	task := func() { _ = callJobFuncWithParams(j.function, j.parameters...) }
	run()
	perRun := testing.AllocsPerRun(200, run)
	perTask := testing.AllocsPerRun(200, task)
	if ran < 400 {
		t.Fatalf("the task ran %d times, want at least 400", ran)
	}
	if perRun > perTask {
		t.Errorf("runJob without hooks allocates %.0f times a run, calling its task %.0f: the unset hooks' parameters are boxed again", perRun, perTask)
	}
	t.Logf("runJob without hooks: %.0f allocations a run; its task's call: %.0f", perRun, perTask)
}

// startExecutor starts an executor's loop with one standard job and, in the
// scheduler's place, a goroutine that hands out the job record and takes
// back what runJob sends, counting those messages (not the job requests).
// run hands the job to the executor and returns once its task has run.
// Both stop at the end of the test.
func startExecutor(t *testing.T, messages *atomic.Int64) (e *executor, run func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	id := uuid.New()
	e = &executor{
		clock:                  clockwork.NewRealClock(),
		logger:                 &noOpLogger{},
		jobsIn:                 make(chan jobIn),
		jobsOutForRescheduling: make(chan uuid.UUID),
		jobsOutCompleted:       make(chan uuid.UUID),
		jobOutRequest:          make(chan *jobOutRequest, 100),
		jobTimingUpdateCh:      make(chan jobTimingUpdate, 100),
		jobsOutRunStarted:      make(chan jobRunStarted),
		stopCh:                 make(chan struct{}),
		stopTimeout:            time.Second,
		done:                   make(chan error, 1),
	}
	job := internalJob{id: id, name: "flow", ctx: ctx, function: func() { ran <- struct{}{} }}
	go func() {
		for {
			select {
			case out := <-e.jobOutRequest:
				out.outChan <- job
				close(out.outChan)
			case <-e.jobsOutForRescheduling:
				messages.Add(1)
			case <-e.jobsOutCompleted:
				messages.Add(1)
			case <-e.jobTimingUpdateCh:
				messages.Add(1)
			case <-e.jobsOutRunStarted:
				messages.Add(1)
			case <-ctx.Done():
				return
			}
		}
	}()
	go e.start()
	t.Cleanup(func() {
		close(e.stopCh)
		<-e.done
		cancel()
	})
	run = func() {
		e.jobsIn <- jobIn{id: id}
		<-ran
	}
	run() // the executor's context exists from here on
	return e, run
}

// TestStandardRunStartsOneGoroutine is the test of the patch of the
// executor's standard-job path (PATCHES.md, patch 3): upstream started a
// goroutine for each run that requested the job from the scheduler, and
// that goroutine started a second one, with a copy of the job record as its
// argument, to run the job, and then ended. Patched, the first goroutine
// runs the job itself: one goroutine a run.
func TestStandardRunStartsOneGoroutine(t *testing.T) {
	_, run := startExecutor(t, new(atomic.Int64))
	const runs = 100
	before := goroutinesCreated()
	for range runs {
		run()
	}
	perRun := float64(goroutinesCreated()-before) / runs
	if perRun >= 2 {
		t.Errorf("a standard run starts %.2f goroutines, want 1: the job runs on a goroutine of its own again", perRun)
	}
	t.Logf("a standard run starts %.2f goroutines", perRun)
}

// TestRunRequestsItsJobOnTheExecutorsContext is the test of patch 4
// (PATCHES.md): upstream made a child context of the executor's for each
// run, only to wait on in requestJobCtx, which the executor's own context
// does as well: three allocations (and a registration with the executor's
// context, under its lock) a run. Patched, the executor's part of a run
// allocates what requesting the job record allocates, and what the
// executor's loop allocates to start the run's goroutine (its closure, and
// the jobIn the closure captures: 3 with go1.26; 6 unpatched).
func TestRunRequestsItsJobOnTheExecutorsContext(t *testing.T) {
	const loop = 3
	e, run := startExecutor(t, new(atomic.Int64))
	perRun := testing.AllocsPerRun(100, run)
	perRequest := testing.AllocsPerRun(100, func() {
		if requestJobCtx(e.ctx, uuid.Nil, e.jobOutRequest) == nil {
			t.Fatal("no job record")
		}
	})
	if perRun > perRequest+loop {
		t.Errorf("a run allocates %.0f times, requesting its job record %.0f: more than the %d of starting its goroutine besides (a context of its own again?)", perRun, perRequest, loop)
	}
	t.Logf("a run allocates %.0f times, requesting its job record %.0f", perRun, perRequest)
}

// TestStandardRunSendsItsStartOnce is the test of patch 5 (PATCHES.md):
// upstream's runJob sent the scheduler three messages before it called the
// task (the job to reschedule, the run completed, its start time), two of
// them unbuffered, each a hand-off to the scheduler's goroutine that may
// wake an idle thread, and one after it (the end time). Patched, the three
// are one message: two a run.
func TestStandardRunSendsItsStartOnce(t *testing.T) {
	var messages atomic.Int64
	_, run := startExecutor(t, &messages)
	const runs = 100
	before := messages.Load()
	for range runs {
		run()
	}
	run() // the last run's end time is sent after its task returned
	// Give or take a few messages of the run before and of the one more run,
	// which may or may not have been counted yet: 2 a run is about 200, 3 a
	// run (unpatched) about 300.
	got := messages.Load() - before
	if got > 5*runs/2 {
		t.Errorf("%d standard runs sent the scheduler %d messages, want 2 a run (its start, its end)", runs, got)
	}
	t.Logf("%d standard runs sent the scheduler %d messages", runs, got)
}

// TestRunStartedIsTheThreeMessages: the scheduler's handling of the one
// message leaves the job record as its handling of the three did, in their
// order: rescheduled (the next due time and its timer), completed (last
// run), and its start time.
func TestRunStartedIsTheThreeMessages(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	newScheduler := func() (*scheduler, uuid.UUID) {
		fc := clockwork.NewFakeClockAt(t0.Add(time.Minute))
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		s := &scheduler{
			shutdownCtx: ctx,
			location:    time.UTC,
			exec:        executor{ctx: ctx, clock: fc, jobsIn: make(chan jobIn)},
			jobs:        map[uuid.UUID]internalJob{},
		}
		id := uuid.MustParse("00000000-0000-0000-0000-000000000001")
		s.jobs[id] = internalJob{id: id, name: "flow", jobSchedule: &durationJob{duration: time.Minute},
			startTime: t0, nextScheduled: []time.Time{t0.Add(time.Minute)}}
		return s, id
	}
	started := t0.Add(time.Minute + time.Millisecond)
	for _, reschedule := range []bool{true, false} {
		three, id := newScheduler()
		if reschedule {
			three.selectExecJobsOutForRescheduling(id)
		}
		three.selectExecJobsOutCompleted(id)
		three.selectJobTimingUpdate(jobTimingUpdate{id: id, startedAt: started})
		one, _ := newScheduler()
		one.selectExecJobRunStarted(jobRunStarted{id: id, reschedule: reschedule, startedAt: started})
		a, b := three.jobs[id], one.jobs[id]
		if !slices.Equal(a.nextScheduled, b.nextScheduled) || !a.lastRun.Equal(b.lastRun) ||
			!a.lastRunStartedAt.Equal(b.lastRunStartedAt) || (a.timer == nil) != (b.timer == nil) {
			t.Errorf("reschedule %v: one message left next %v, last run %v, started %v, timer %v; three: %v, %v, %v, %v",
				reschedule, b.nextScheduled, b.lastRun, b.lastRunStartedAt, b.timer != nil,
				a.nextScheduled, a.lastRun, a.lastRunStartedAt, a.timer != nil)
		}
		if reschedule && (len(b.nextScheduled) != 1 || !b.nextScheduled[0].Equal(t0.Add(2*time.Minute))) {
			t.Errorf("rescheduled: next %v, want [%v]", b.nextScheduled, t0.Add(2*time.Minute))
		}
	}
}

func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestRescheduleAfterTheDueTimeWasTrimmed is the test of patch 6
// (PATCHES.md): a run's reschedule whose job's due times were all trimmed
// (a run's completion at the instant of the next due time removes it: not
// after now) took its base from the job's start time again, so it armed
// the due time that had just passed, at once, and the run after did the
// same: on a clock that does not move (clockwork's fake clock) a job fired
// at that instant thousands of times and never armed a timer again
// (daemon's TestSchedulerDueTimes/anchor_now failed 3 times in 800 under
// load). Its base is now the last due time it scheduled.
func TestRescheduleAfterTheDueTimeWasTrimmed(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	fc := clockwork.NewFakeClockAt(t0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &scheduler{
		shutdownCtx: ctx,
		location:    time.UTC,
		exec:        executor{ctx: ctx, clock: fc, jobsIn: make(chan jobIn, 8)},
		jobs:        map[uuid.UUID]internalJob{},
	}
	id := uuid.New()
	s.jobs[id] = internalJob{id: id, name: "flow", jobSchedule: &durationJob{duration: 10 * time.Second}, startTime: t0, nextScheduled: []time.Time{t0}}
	s.selectExecJobsOutForRescheduling(id) // the run due at t0: next at t0+10s
	s.selectExecJobsOutCompleted(id)
	fc.Advance(10 * time.Second)
	// The due time t0+10s is now; a completion at this instant trims it
	// before the run due then is rescheduled.
	s.selectExecJobsOutCompleted(id)
	s.selectExecJobsOutForRescheduling(id)
	j := s.jobs[id]
	if want := t0.Add(20 * time.Second); !slices.Contains(j.nextScheduled, want) || slices.ContainsFunc(j.nextScheduled, func(at time.Time) bool { return !at.After(fc.Now()) }) {
		t.Errorf("after the run due at %v: next due %v, want %v (not the instant that just passed)", fc.Now(), j.nextScheduled, want)
	}
}
