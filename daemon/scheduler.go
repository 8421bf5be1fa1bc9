package daemon

import (
	"errors"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// scheduler fires each flow's job at its anchor and every interval after:
// one timer per flow on the daemon's clockwork clock (a fake one in tests),
// whose callback re-arms it for the next due time and then calls fire on
// the callback's own goroutine. A due time missed (the process was
// stopped, the machine slept) is skipped, not caught up; fire itself keeps
// a flow from overlapping itself.
//
// It replaced gocron (one job per flow, as gocron's DurationJob with a start
// time in the past): gocron hands every run through two goroutines, about six
// channel round trips with its single scheduler goroutine, a reflect call and
// copies of its job record, which at 5,000 flows every 10 s cost 28 us of CPU
// per run, a third of what the daemon spends per run beside the probe itself.
type scheduler struct {
	clock   clockwork.Clock
	fire    func(*flowState)
	timeout time.Duration // Shutdown waits this long for fire calls to return

	mu      sync.Mutex
	jobs    map[*schedJob]struct{}
	started bool
	stopped bool
	active  sync.WaitGroup // fire calls in progress; Add only under mu before stopped
}

// schedJob is one flow's place in the schedule.
type schedJob struct {
	s        *scheduler
	fs       *flowState
	name     string
	interval time.Duration

	mu      sync.Mutex
	next    time.Time // the due time the timer is armed for
	timer   clockwork.Timer
	removed bool
}

func newScheduler(c clockwork.Clock, fire func(*flowState), timeout time.Duration) *scheduler {
	return &scheduler{clock: c, fire: fire, timeout: timeout, jobs: map[*schedJob]struct{}{}}
}

// Name is the job's flow.
func (j *schedJob) Name() string { return j.name }

// Jobs returns the scheduled jobs, in no order.
func (s *scheduler) Jobs() []*schedJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*schedJob, 0, len(s.jobs))
	for j := range s.jobs {
		out = append(out, j)
	}
	return out
}

// add schedules fs's job: first due at anchor (or, when that has passed, at
// the first anchor + k*interval from now on), then every interval.
func (s *scheduler) add(fs *flowState, anchor time.Time, interval time.Duration) (*schedJob, error) {
	if interval <= 0 {
		return nil, errors.New("scheduler: interval must be positive")
	}
	j := &schedJob{s: s, fs: fs, name: fs.name, interval: interval, next: anchor}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil, errors.New("scheduler: shut down")
	}
	s.jobs[j] = struct{}{}
	if s.started {
		j.arm()
	}
	return j, nil
}

// arm sets the job's timer for its next due time at or after now.
func (j *schedJob) arm() {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.s.clock.Now()
	for j.next.Before(now) {
		j.next = j.next.Add(j.interval)
	}
	j.timer = j.s.clock.AfterFunc(j.next.Sub(now), j.run)
}

// run is the timer's callback: re-arm for the next due time (a run that
// takes long never delays the schedule), then fire.
func (j *schedJob) run() {
	s := j.s
	j.mu.Lock()
	if j.removed {
		j.mu.Unlock()
		return
	}
	now := s.clock.Now()
	j.next = j.next.Add(j.interval)
	for j.next.Before(now) {
		j.next = j.next.Add(j.interval)
	}
	j.timer.Reset(j.next.Sub(now))
	j.mu.Unlock()
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.active.Add(1)
	s.mu.Unlock()
	defer s.active.Done()
	s.fire(j.fs)
}

// remove unschedules j; a fire call in progress finishes.
func (s *scheduler) remove(j *schedJob) {
	s.mu.Lock()
	delete(s.jobs, j)
	s.mu.Unlock()
	j.mu.Lock()
	j.removed = true
	if j.timer != nil {
		j.timer.Stop()
	}
	j.mu.Unlock()
}

// Start arms the timers of the jobs added so far; later ones are armed as
// they are added.
func (s *scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	for j := range s.jobs {
		j.arm()
	}
}

// Shutdown stops every timer (no fire call starts any more) and waits up to
// the timeout for the fire calls in progress to return.
func (s *scheduler) Shutdown() error {
	s.mu.Lock()
	s.stopped = true
	jobs := make([]*schedJob, 0, len(s.jobs))
	for j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		j.mu.Lock()
		j.removed = true
		if j.timer != nil {
			j.timer.Stop()
		}
		j.mu.Unlock()
	}
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	t := time.NewTimer(s.timeout) // wall clock, like the drain it waits for
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return errors.New("scheduler: runs still in progress after the stop timeout")
	}
}
