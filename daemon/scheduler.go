package daemon

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/slaprobe/slaprobe/internal/gocron"
)

// scheduler fires each flow's job at its anchor and every interval after,
// on gocron v2 (DESIGN: "scheduler (gocron v2, one job per flow x
// location)"): one gocron DurationJob per flow, named after the flow, first
// due at the anchor or, when that has passed, at the first anchor +
// k*interval from now on (WithStartDateTimePast), on the daemon's clockwork
// clock (WithClock: the fake clock in tests drives it). What the daemon
// relies on:
//
//   - a due time missed (the process was stopped, the machine slept, the
//     fake clock jumped) is skipped, not caught up: gocron reschedules a job
//     from its last due time and steps past now;
//   - a long run never delays the schedule: gocron reschedules a duration
//     job before it calls the task (no WithIntervalFromCompletion);
//   - a flow never overlaps itself: fire sees to it (gocron's
//     WithSingletonMode would too, but it keeps a goroutine and a 1000-slot
//     channel per job: 160 MB at 10,000 flows);
//   - Shutdown stops new fire calls at once and waits for those in
//     progress up to the timeout (wall clock, like the drain it waits for).
//
// Why gocron rather than a timer per flow (dc32c50 had one for a while): the
// design names it, and a well-kept library is one piece less of our own to
// get right (missed due times, clock jumps, timers re-armed and stopped).
// What it costs, with the patches of internal/gocron (gocron v2.21.2;
// PATCHES.md): every run goes through an AfterFunc goroutine, gocron's
// executor loop, a goroutine of its own that requests a copy of the job
// record from gocron's one scheduler goroutine and then runs the task
// (through reflect), and four hand-offs to and from that scheduler
// goroutine (the request and its answer, the run's start, its end).
// BenchmarkSchedulerRun (100 or 10 jobs every 10 ms, a no-op fire): 11
// allocations, 1352 B and 16 us of CPU a run at 10,000 runs a second, 64 us
// at 1,000 a second, where most hand-offs wake an idle thread (shared
// 2-core machine; upstream: 23 allocations, 2177 B, 21 and 70 us). Its job
// records, timers and contexts hold about 0.75 KB of live heap per flow (37
// MB at 50,000 flows in a gc=1 heap profile of `slaprobe run`; upstream
// also keeps a second copy of each job record until its next run, 65 MB at
// 50,000). A timer per flow (dc32c50) cost 67-76 us of CPU a run in
// process against gocron's 90-95 us then (before the patches). In a CPU
// profile of `slaprobe run` at 1,000 flows every 10 s (test/scale -profile,
// 9dfbc38) gocron's own goroutines, its task call not counted, were about
// 15% of the process's samples.
//
// gocron's own Shutdown waits for the tasks in progress in a loop that
// polls without sleeping (v2.21.2): a core kept busy for as long as runs
// drain. So Shutdown refuses new fire calls and waits for the ones in
// progress itself, and only then shuts gocron down, when nothing of ours is
// left for it to wait for.
type scheduler struct {
	cron    gocron.Scheduler
	fire    func(*flowState)
	timeout time.Duration // Shutdown waits this long for fire calls to return

	mu      sync.Mutex
	stopped bool
	active  sync.WaitGroup // fire calls in progress; Add only under mu before stopped
}

// schedJob is one flow's gocron job.
type schedJob struct {
	gocron.Job
}

func newScheduler(c clockwork.Clock, fire func(*flowState), timeout time.Duration) (*scheduler, error) {
	cron, err := gocron.NewScheduler(
		gocron.WithClock(c),
		gocron.WithStopTimeout(timeout),
	)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return &scheduler{cron: cron, fire: fire, timeout: timeout}, nil
}

// Jobs returns the jobs gocron has scheduled (none after Shutdown).
func (s *scheduler) Jobs() []gocron.Job { return s.cron.Jobs() }

// add schedules fs's job: first due at anchor (or, when that has passed, at
// the first anchor + k*interval from now on), then every interval. Jobs
// added before Start are armed by it, later ones at once.
func (s *scheduler) add(fs *flowState, anchor time.Time, interval time.Duration) (*schedJob, error) {
	if interval <= 0 {
		return nil, errors.New("scheduler: interval must be positive")
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		return nil, errors.New("scheduler: shut down")
	}
	j, err := s.cron.NewJob(
		gocron.DurationJob(interval),
		gocron.NewTask(s.run, fs),
		gocron.WithName(fs.name),
		gocron.WithStartAt(gocron.WithStartDateTimePast(anchor)),
	)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return &schedJob{j}, nil
}

// run is every job's task: fire, unless Shutdown has begun.
func (s *scheduler) run(fs *flowState) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	s.fire(fs)
}

// remove unschedules j; a fire call in progress finishes. A job already
// gone (Shutdown) is not an error.
func (s *scheduler) remove(j *schedJob) error {
	if err := s.cron.RemoveJob(j.ID()); err != nil && !errors.Is(err, gocron.ErrJobNotFound) {
		return fmt.Errorf("scheduler: %w", err)
	}
	return nil
}

// Start arms the jobs added so far; later ones are armed as they are added.
func (s *scheduler) Start() { s.cron.Start() }

// Shutdown starts no fire call any more, waits up to the timeout for the
// fire calls in progress to return, and shuts gocron down (which waits, up
// to the timeout again, for fire calls that outlived the first wait).
func (s *scheduler) Shutdown() error {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	t := time.NewTimer(s.timeout) // wall clock, like the drain it waits for
	var err error
	select {
	case <-done:
	case <-t.C:
		err = errors.New("scheduler: runs still in progress after the stop timeout")
	}
	t.Stop()
	if cerr := s.cron.Shutdown(); cerr != nil && err == nil {
		err = fmt.Errorf("scheduler: %w", cerr)
	}
	return err
}
