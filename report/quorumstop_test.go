package report

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// With two or three locations (majority quorum), one prober stopped in the
// middle of an outage while it confirm-ran the flow every 10 s at 60 s (or
// one failure into a possible outage), the others going on: the report
// from the stored events and windows --recompute give the same figures and
// windows, the stopped location's data ends 10 s after its last run (its
// "not reporting since"), on SQLite, in memory and on PostgreSQL (whose
// batched read of that last run is its own).
func TestQuorumOneStopsMidOutage(t *testing.T) {
	m := time.Minute
	from, to := hm(10, 0), hm(11, 0)
	for _, tc := range []struct {
		name  string
		aStop time.Time // seoul-a's last run is the one before
		fails time.Duration
	}{
		{"mid-outage", hm(10, 20).Add(35 * time.Second), 10 * time.Minute},
		{"one failure while up", hm(10, 20).Add(5 * time.Second), 10 * time.Minute},
	} {
		for _, nloc := range []int{2, 3} {
			locs := []string{"seoul-a", "seoul-b", "seoul-c"}[:nloc]
			var runs []probe.Run
			var aLast time.Time
			for _, l := range locs {
				stop := hm(10, 50)
				if l == "seoul-a" {
					stop = tc.aStop
				}
				add := func(at time.Time, spec string) {
					if at.Before(stop) {
						runs = append(runs, mkRun(l, at, spec))
						if l == "seoul-a" {
							aLast = at
						}
					}
				}
				for at := from; at.Before(hm(10, 20)); at = at.Add(m) {
					add(at, "ok")
				}
				for at := hm(10, 20); at.Before(hm(10, 20).Add(tc.fails)); at = at.Add(10 * time.Second) {
					add(at, "fail:send")
				}
				for at := hm(10, 20).Add(tc.fails); at.Before(to); at = at.Add(m) {
					add(at, "ok")
				}
			}
			for _, st := range confirmStores() {
				t.Run(fmt.Sprintf("%s/%s/%d", tc.name, st.name, nloc), func(t *testing.T) {
					cfg := testConfig("UTC", m)
					cfg.Services[0].Flows[0].ConfirmEvery = 10 * time.Second
					s := st.open(t)
					load(t, s, cfg, runs)
					var out [2][]byte
					for i, recompute := range []bool{false, true} {
						rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: from, To: to, Now: hm(12, 0), Recompute: recompute})
						if err != nil {
							t.Fatal(err)
						}
						out[i], _ = json.Marshal(struct {
							S any
							W any
						}{rep.Services, rep.Windows})
						if got, want := rep.Silent["seoul-a"], aLast.Add(10*time.Second); !got.Equal(want) {
							t.Errorf("recompute %v: seoul-a not reporting since %s, want %s", recompute, got.Format(time.TimeOnly), want.Format(time.TimeOnly))
						}
					}
					if string(out[0]) != string(out[1]) {
						t.Errorf("stored:\n%s\nrecompute:\n%s", out[0], out[1])
					}
				})
			}
		}
	}
}
