package daemon

import (
	"sync"
	"sync/atomic"
	"time"
)

// warmPool runs the runs (the probe and the pipeline) on goroutines that live
// from one run to the next.
//
// The scheduler starts every run on a new goroutine, whose stack starts small
// and grows, by copying, as the run goes down through the runner, net/http
// and the state machine: at 5,000 flows that growth was 8% of the daemon's
// CPU. A run handed to a goroutine that has run flows before finds its stack
// already grown. The scheduler's goroutine only waits out the jitter and then
// waits for the run, on a shallow stack.
//
// Idle workers wait for the next run and leave after warmIdle without one,
// or at once when warmMaxIdle others already wait (after a burst of slow
// runs, only a few stay).
type warmPool struct {
	work chan *warmJob // unbuffered: a send succeeds only to an idle worker
	idle atomic.Int32
	jobs sync.Pool // *warmJob, with their done channels
	quit chan struct{}
	once sync.Once
}

const (
	warmIdle    = time.Minute
	warmMaxIdle = 32
)

// warmJob is one function handed to a worker.
type warmJob struct {
	fn   func()
	done chan struct{} // buffered: the worker never waits for the caller
}

func newWarmPool() *warmPool { return &warmPool{work: make(chan *warmJob), quit: make(chan struct{})} }

// stop makes the idle workers leave now, and every worker once its job is
// done: the daemon has stopped, no goroutine of it stays behind.
func (p *warmPool) stop() { p.once.Do(func() { close(p.quit) }) }

// do runs fn on a warm goroutine (a new one when none is idle) and returns
// when fn has.
func (p *warmPool) do(fn func()) {
	j, _ := p.jobs.Get().(*warmJob)
	if j == nil {
		j = &warmJob{done: make(chan struct{}, 1)}
	}
	j.fn = fn
	select {
	case p.work <- j:
	default:
		go p.worker(j)
	}
	<-j.done
	j.fn = nil
	p.jobs.Put(j)
}

// worker runs j, then every job it is handed, until it has been idle for
// warmIdle or enough others are idle.
func (p *warmPool) worker(j *warmJob) {
	idle := time.NewTimer(warmIdle)
	defer idle.Stop()
	for {
		j.fn()
		j.done <- struct{}{}
		if p.idle.Add(1) > warmMaxIdle {
			p.idle.Add(-1)
			return
		}
		idle.Reset(warmIdle)
		select {
		case j = <-p.work:
			p.idle.Add(-1)
		case <-idle.C:
			p.idle.Add(-1)
			return
		case <-p.quit:
			p.idle.Add(-1)
			return
		}
	}
}
