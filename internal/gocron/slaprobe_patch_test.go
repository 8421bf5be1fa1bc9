package gocron

import (
	"context"
	"runtime"
	"runtime/metrics"
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
// runJob sends back to the scheduler (drain them after each call), no
// scheduler, monitor, locker or elector.
func runJobExecutor(ctx context.Context) *executor {
	return &executor{
		ctx:               ctx,
		clock:             clockwork.NewRealClock(),
		logger:            &noOpLogger{},
		jobsOutCompleted:  make(chan uuid.UUID, 1),
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
		<-e.jobsOutCompleted
		<-e.jobTimingUpdateCh
		<-e.jobTimingUpdateCh
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
// back what runJob sends. run hands the job to the executor and returns
// once its task has run. Both stop at the end of the test.
func startExecutor(t *testing.T) (e *executor, run func()) {
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
			case <-e.jobsOutCompleted:
			case <-e.jobTimingUpdateCh:
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
	_, run := startExecutor(t)
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
	e, run := startExecutor(t)
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

func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
