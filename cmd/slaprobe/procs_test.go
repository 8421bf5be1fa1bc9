package main

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/daemon"
)

func TestProcsSizer(t *testing.T) {
	cfgOf := func(flows int, interval time.Duration) *config.Config {
		fl := make([]config.Flow, flows)
		for i := range fl {
			fl[i] = config.Flow{Interval: interval, Steps: []config.Step{{Name: "s"}}}
		}
		return &config.Config{Services: []config.Service{{Flows: fl}}}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name  string
		fixed bool
		limit int
		cfgs  []*config.Config // start-up, then reloads
		want  []int            // GOMAXPROCS set after each; none when fixed
	}{
		{"1,000 flows every 10s: one", false, 2, []*config.Config{cfgOf(1000, 10*time.Second)}, []int{1}},
		{"a reload that grows the schedule grows it back", false, 8,
			[]*config.Config{cfgOf(1000, 10*time.Second), cfgOf(3*daemon.StepsPerProc, time.Second), cfgOf(10, time.Minute)}, []int{1, 3, 1}},
		{"never above the runtime's default", false, 2, []*config.Config{cfgOf(50*daemon.StepsPerProc, time.Second)}, []int{2}},
		{"GOMAXPROCS in the environment wins", true, 2, []*config.Config{cfgOf(1000, 10*time.Second), cfgOf(10, time.Second)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			current := tc.limit
			p := &procsSizer{fixed: tc.fixed, limit: tc.limit, log: quiet, set: func(n int) int {
				got = append(got, n)
				old := current
				current = n
				return old
			}}
			for _, c := range tc.cfgs {
				p.size(c)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("GOMAXPROCS set to %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("GOMAXPROCS set to %v, want %v", got, tc.want)
				}
			}
		})
	}
}
