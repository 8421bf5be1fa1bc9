package clock

import (
	"context"
	"testing"
	"time"
)

func TestManualAfterAdvancesAtOnce(t *testing.T) {
	t0 := time.Date(2022, 10, 15, 15, 19, 0, 0, time.UTC)
	tests := []struct {
		name string
		d    time.Duration
		want time.Time
	}{
		{"positive", 10 * time.Second, t0.Add(10 * time.Second)},
		{"zero", 0, t0},
		{"negative", -time.Second, t0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManual(t0)
			ch := m.After(tc.d)
			select {
			case got := <-ch:
				if !got.Equal(tc.want) {
					t.Errorf("After(%v) fired with %v, want %v", tc.d, got, tc.want)
				}
			default:
				t.Fatalf("After(%v) on a Manual clock is not ready at once", tc.d)
			}
			if now := m.Now(); !now.Equal(tc.want) {
				t.Errorf("clock at %v after After(%v), want %v", now, tc.d, tc.want)
			}
		})
	}
}

func TestRealAfterFires(t *testing.T) {
	var c Clock = Real{}
	start := time.Now()
	got := <-c.After(time.Millisecond)
	if got.Before(start.Add(time.Millisecond)) {
		t.Errorf("Real.After(1ms) fired at %v, %v after the start", got, got.Sub(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); err == nil {
		t.Error("Sleep on a done context returned nil")
	}
}
