package clock

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2022, 10, 15, 15, 30, 0, 0, time.UTC)

func TestManualSleepStopsAtVirtualDeadline(t *testing.T) {
	tests := []struct {
		name      string
		flow      time.Duration // flow deadline after t0
		step      time.Duration // step deadline after t0, 0: none
		sleep     time.Duration
		wantAt    time.Duration // clock after the sleep, from t0
		wantErr   error         // Sleep's error
		flowEnded bool
		stepEnded bool
	}{
		{name: "within the deadline", flow: 30 * time.Second, sleep: 10 * time.Second, wantAt: 10 * time.Second},
		{name: "exactly to the deadline", flow: 30 * time.Second, sleep: 30 * time.Second, wantAt: 30 * time.Second, wantErr: context.DeadlineExceeded, flowEnded: true},
		{name: "past the deadline", flow: 30 * time.Second, sleep: 2 * time.Minute, wantAt: 30 * time.Second, wantErr: context.DeadlineExceeded, flowEnded: true},
		{name: "step deadline first", flow: 30 * time.Second, step: 5 * time.Second, sleep: time.Hour, wantAt: 5 * time.Second, wantErr: context.DeadlineExceeded, stepEnded: true},
		{name: "flow deadline first", flow: 30 * time.Second, step: 50 * time.Second, sleep: time.Hour, wantAt: 30 * time.Second, wantErr: context.DeadlineExceeded, flowEnded: true, stepEnded: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManual(t0)
			flow, cancelFlow := WithTimeout(context.Background(), m, tt.flow)
			defer cancelFlow()
			ctx := flow
			if tt.step > 0 {
				var cancel context.CancelFunc
				ctx, cancel = WithDeadline(flow, m, t0.Add(tt.step))
				defer cancel()
			}
			// Contexts derived the standard way end with it, before Sleep returns.
			derived, cancelDerived := context.WithCancel(ctx)
			defer cancelDerived()
			err := m.Sleep(context.WithValue(derived, struct{}{}, 1), tt.sleep)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Sleep: %v, want %v", err, tt.wantErr)
			}
			if got := m.Now().Sub(t0); got != tt.wantAt {
				t.Errorf("clock at +%v, want +%v", got, tt.wantAt)
			}
			if got := flow.Err() != nil; got != tt.flowEnded {
				t.Errorf("flow context ended %v, want %v", got, tt.flowEnded)
			}
			if tt.flowEnded && !errors.Is(flow.Err(), context.DeadlineExceeded) {
				t.Errorf("flow context error %v, want deadline exceeded", flow.Err())
			}
			if tt.step > 0 && (ctx.Err() != nil) != tt.stepEnded {
				t.Errorf("step context ended %v, want %v", ctx.Err() != nil, tt.stepEnded)
			}
			if (tt.flowEnded || tt.stepEnded) && !errors.Is(derived.Err(), context.DeadlineExceeded) {
				t.Errorf("derived context error %v, want deadline exceeded", derived.Err())
			}
		})
	}
}

func TestVirtualDeadlineCancelAndParent(t *testing.T) {
	m := NewManual(t0)
	ctx, cancel := WithTimeout(context.Background(), m, time.Minute)
	if _, ok := ctx.Deadline(); ok {
		t.Error("a virtual deadline must not show as a wall-clock Deadline")
	}
	if d, ok := VirtualDeadline(ctx); !ok || !d.Equal(t0.Add(time.Minute)) {
		t.Errorf("VirtualDeadline %v %v", d, ok)
	}
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after cancel: %v", ctx.Err())
	}
	m.Advance(2 * time.Minute) // the stopped timer must not turn Canceled into DeadlineExceeded
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after the deadline passed: %v", ctx.Err())
	}

	parent, cancelParent := context.WithCancel(context.Background())
	child, cancelChild := WithTimeout(parent, m, time.Minute)
	defer cancelChild()
	cancelParent()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("parent cancel did not end the child")
	}
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("child of a cancelled parent: %v", child.Err())
	}

	past, cancelPast := WithDeadline(context.Background(), m, m.Now().Add(-time.Second))
	defer cancelPast()
	if !errors.Is(past.Err(), context.DeadlineExceeded) {
		t.Errorf("deadline already passed: %v", past.Err())
	}
}

func TestManualAdvanceFiresTimersInOrder(t *testing.T) {
	m := NewManual(t0)
	var got []int
	var mu sync.Mutex
	add := func(i int) func() { return func() { mu.Lock(); got = append(got, i); mu.Unlock() } }
	m.AfterFunc(t0.Add(3*time.Second), add(3))
	m.AfterFunc(t0.Add(1*time.Second), add(1))
	stop := m.AfterFunc(t0.Add(2*time.Second), add(2))
	m.AfterFunc(t0.Add(10*time.Second), add(10))
	if !stop() {
		t.Error("stop of a pending timer reported false")
	}
	m.Advance(5 * time.Second)
	if !slices.Equal(got, []int{1, 3}) {
		t.Errorf("fired %v, want [1 3]", got)
	}
	if err := m.Sleep(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{1, 3, 10}) || !m.Now().Equal(t0.Add(15*time.Second)) {
		t.Errorf("fired %v at %v", got, m.Now())
	}
}

func TestRealWithTimeoutIsAContextDeadline(t *testing.T) {
	ctx, cancel := WithTimeout(context.Background(), Real{}, time.Hour)
	defer cancel()
	d, ok := ctx.Deadline()
	if !ok || time.Until(d) < 59*time.Minute {
		t.Errorf("Deadline %v %v, want about an hour from now", d, ok)
	}
	if _, ok := VirtualDeadline(ctx); ok {
		t.Error("a wall-clock deadline reported as virtual")
	}
	short, cancelShort := WithTimeout(context.Background(), Real{}, time.Millisecond)
	defer cancelShort()
	if err := (Real{}).Sleep(short, time.Minute); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Real.Sleep past the deadline: %v", err)
	}
}

// Runs in a replay share nothing but may share a Manual in tests: timers,
// sleeps and cancels from several goroutines must not race (go test -race).
func TestManualConcurrent(t *testing.T) {
	m := NewManual(t0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				ctx, cancel := WithTimeout(context.Background(), m, 3*time.Second)
				_ = m.Sleep(ctx, time.Second)
				cancel()
			}
		})
	}
	wg.Wait()
	// Sleeps that overlap share the time they advance: at least one
	// goroutine's worth, at most all of them.
	if d := m.Now().Sub(t0); d < 50*time.Second || d > 400*time.Second {
		t.Errorf("clock at +%v, want between +50s and +400s", d)
	}
}

// A wait for a message with After (a select on it and on the message) ends
// the virtual deadline it passes, as a Sleep does.
func TestManualAfterFiresDeadline(t *testing.T) {
	m := NewManual(t0)
	ctx, cancel := WithTimeout(context.Background(), m, 10*time.Second)
	defer cancel()
	msgs := make(chan string)
	select {
	case <-msgs:
		t.Fatal("no message was sent")
	case <-m.After(time.Minute):
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("deadline context after After past it: %v", ctx.Err())
	}
}
