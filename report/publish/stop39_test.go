package publish

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// stop39Version records, in st, the version of October 2022 that the
// stop-39 publisher (55c704a) made of upgradeMonth with chat given a
// session (ttl 1h), as it stored it (testdata/stop39/versions.json: made
// by testdata/stop39/dump_test.go.txt beside upgrade_scenario_test.go in
// a tree of 55c704a).
func stop39Version(t *testing.T, st Store) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stop39", "versions.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []store.ReportVersion
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Canon != "" {
		t.Fatalf("testdata/stop39/versions.json: %+v", vs)
	}
	ctx := context.Background()
	if _, err := st.ClaimPublisher(ctx, vs[0].Maker, vs[0].Generated, store.Lease{}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddReportVersion(ctx, vs[0], nil); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeFromStop39: a month with a session flow made by stop 39's
// release (55c704a), whose report had windows' maintenance_seconds, flows'
// function_runs and the policy's sentence on the run success ratio, but
// not yet the policy's sentence on sessions (0547b0b): the first cycle
// after the upgrade makes no version 2 and delivers nothing, and gives
// version 1 its canonical digest; a real change (results that came late)
// still makes one, which does not name the policy. Before, neither the
// report as this build writes it (with the session sentence) nor asBefore
// (stop 38's, without maintenance_seconds and function_runs) had its
// digest: "version 2: figures as in version 1; details changed: policy",
// delivered to every channel.
func TestUpgradeFromStop39(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(t *testing.T, st Store, cfg *config.Config)
		want   string // in version 2's changes; "" no version 2
	}{
		{"nothing", func(*testing.T, Store, *config.Config) {}, ""},
		{"late results", func(t *testing.T, st Store, cfg *config.Config) { lateRuns(t, st, cfg) }, "details changed: messaging: latencies; messaging: run counts"},
	} {
		for _, sc := range fleetStores(t) {
			t.Run(c.name+"/"+sc.name, func(t *testing.T) {
				ctx := context.Background()
				st := sc.open(t)
				archive := filepath.Join(t.TempDir(), "reports")
				cfg := testConfig(archive)
				cfg.Services[0].Flows[0].Session = &config.Session{TTL: time.Hour}
				upgradeMonth(t, st, cfg)
				stop39Version(t, st)
				c.change(t, st, cfg)
				hook := &fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"}
				vs, err := cycleAt(t, cfg, st, time.Date(2022, 11, 3, 0, 0, 0, 0, cfg.Loc), "2022-10", hook)
				if err != nil {
					t.Fatal(err)
				}
				ds, err := st.Deliveries(ctx, "")
				if err != nil {
					t.Fatal(err)
				}
				if c.want == "" {
					if len(vs) != 1 || len(ds) != 0 {
						t.Fatalf("versions %+v, deliveries %+v: want version 1 only, nothing delivered", vs, ds)
					}
					if !strings.HasPrefix(vs[0].Canon, canonForm) {
						t.Errorf("version 1's canonical digest is %q", vs[0].Canon)
					}
					return
				}
				if len(vs) != 2 {
					t.Fatalf("%d versions, want 2: %+v", len(vs), vs)
				}
				if got := vs[1].Changes; !strings.Contains(got, c.want) || strings.Contains(got, "policy") {
					t.Errorf("changes %q, want %q in them and not the policy", got, c.want)
				}
			})
		}
	}
}
