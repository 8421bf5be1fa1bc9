package clock

import (
	"context"
	"sync"
	"time"
)

// Timers is what a virtual clock offers so that deadlines follow it:
// AfterFunc calls f once the clock reaches t, and stop cancels that,
// reporting whether it did so before f ran. Manual implements it; Real does
// not (deadlines on the wall clock are context.WithDeadline's).
type Timers interface {
	AfterFunc(t time.Time, f func()) (stop func() bool)
}

// WithTimeout is WithDeadline(parent, c, c.Now()+d).
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	return WithDeadline(parent, c, c.Now().Add(d))
}

// WithDeadline returns a context that ends when clock c reaches t (its Err is
// then context.DeadlineExceeded), when parent ends, or when cancel is called.
//
// On a clock without Timers (Real, or any wall-clock adapter) it is
// context.WithDeadline at the same distance from the wall clock's now. On a
// virtual clock the context ends the moment the virtual time reaches t, and
// the contexts derived from it end with it, before the clock goes on; its
// Deadline method reports only the parent's wall-clock deadline (a virtual
// time means nothing to a network dialer), and VirtualDeadline reports t.
func WithDeadline(parent context.Context, c Clock, t time.Time) (context.Context, context.CancelFunc) {
	tm, ok := c.(Timers)
	if !ok {
		return context.WithDeadline(parent, time.Now().Add(t.Sub(c.Now())))
	}
	if pd, ok := VirtualDeadline(parent); ok && pd.Before(t) {
		t = pd // the parent ends first anyway; Sleep stops at the earliest
	}
	v := &virtualCtx{Context: parent, deadline: t, done: make(chan struct{})}
	if err := parent.Err(); err != nil {
		v.end(err)
		return v, func() {}
	}
	if !c.Now().Before(t) {
		v.end(context.DeadlineExceeded)
		return v, func() {}
	}
	var stopParent func() bool
	if pv, ok := parent.(*virtualCtx); ok {
		stopParent = pv.AfterFunc(func() { v.end(pv.Err()) }) // synchronous
	} else {
		stopParent = context.AfterFunc(parent, func() { v.end(parent.Err()) })
	}
	stopTimer := tm.AfterFunc(t, func() { v.end(context.DeadlineExceeded) })
	return v, func() {
		stopTimer()
		stopParent()
		v.end(context.Canceled)
	}
}

// VirtualDeadline returns the earliest virtual deadline (WithDeadline on a
// virtual clock) of ctx and its parents.
func VirtualDeadline(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(deadlineKey{}).(time.Time)
	return t, ok
}

type deadlineKey struct{}

// virtualCtx is a context with a deadline on a virtual clock. It implements
// the context package's AfterFunc protocol, so that contexts derived from it
// (context.WithCancel, WithTimeout, context.AfterFunc) end synchronously
// when it does, before the virtual clock moves on.
type virtualCtx struct {
	context.Context // the parent, for values and its wall-clock deadline
	deadline        time.Time

	mu    sync.Mutex
	done  chan struct{}
	err   error
	after []*afterFunc
}

type afterFunc struct{ f func() }

func (v *virtualCtx) Done() <-chan struct{} { return v.done }

func (v *virtualCtx) Err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

func (v *virtualCtx) Value(key any) any {
	if key == (deadlineKey{}) {
		return v.deadline
	}
	return v.Context.Value(key)
}

// AfterFunc arranges for f to run after v ends: synchronously when it ends,
// or in its own goroutine if it already has (the context package may call
// this with a lock held). stop unregisters f and reports whether it did so
// before f ran.
func (v *virtualCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	v.mu.Lock()
	if v.err != nil {
		v.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	v.after = append(v.after, a)
	v.mu.Unlock()
	return func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for i, x := range v.after {
			if x == a {
				v.after = append(v.after[:i], v.after[i+1:]...)
				return true
			}
		}
		return false
	}
}

// end ends v with err (the first call wins) and runs what was registered.
func (v *virtualCtx) end(err error) {
	v.mu.Lock()
	if v.err != nil {
		v.mu.Unlock()
		return
	}
	v.err = err
	close(v.done)
	after := v.after
	v.after = nil
	v.mu.Unlock()
	for _, a := range after {
		a.f()
	}
}

func (v *virtualCtx) String() string {
	return "clock.WithDeadline(virtual " + v.deadline.String() + ")"
}
