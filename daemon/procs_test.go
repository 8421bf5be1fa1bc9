package daemon

import (
	"math"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

func TestStepRate(t *testing.T) {
	step := config.Step{Name: "s"}
	flows := func(n int, interval time.Duration, steps, teardown int) []config.Flow {
		out := make([]config.Flow, n)
		for i := range out {
			out[i] = config.Flow{Interval: interval}
			for range steps {
				out[i].Steps = append(out[i].Steps, step)
			}
			for range teardown {
				out[i].Teardown = append(out[i].Teardown, step)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		services []config.Service
		want     float64
	}{
		{"none", nil, 0},
		{"1,000 one-step flows every 10s", []config.Service{{Flows: flows(1000, 10*time.Second, 1, 0)}}, 100},
		{"50,000 every 60s", []config.Service{{Flows: flows(50000, time.Minute, 1, 0)}}, 50000.0 / 60},
		{"teardown steps count, per service", []config.Service{
			{Flows: flows(10, time.Second, 3, 1)},
			{Flows: flows(30, 30*time.Second, 1, 0)},
		}, 41},
		{"a flow without interval adds nothing", []config.Service{{Flows: flows(3, 0, 2, 0)}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := StepRate(&config.Config{Services: tc.services})
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("StepRate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProcs(t *testing.T) {
	for _, tc := range []struct {
		rate  float64
		limit int
		want  int
	}{
		{0, 8, 1},
		{100, 8, 1},
		{StepsPerProc, 8, 1},
		{StepsPerProc + 1, 8, 2},
		{50000.0 / 60, 8, 2},
		{10 * StepsPerProc, 8, 8}, // at most the limit
		{10 * StepsPerProc, 2, 2},
		{1e300, 4, 4},      // no overflow
		{100, 0, 1},        // at least 1
		{math.NaN(), 4, 1}, // NaN compares false: 1
	} {
		if got := Procs(tc.rate, tc.limit); got != tc.want {
			t.Errorf("Procs(%v, %d) = %d, want %d", tc.rate, tc.limit, got, tc.want)
		}
	}
}
