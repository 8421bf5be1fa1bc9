package daemon

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestWindowLogInUTC: the log's window lines give their times in UTC,
// whatever zone the runs' times are in. A window opened in the process
// printed its start in the clock's zone (the process's TZ, or the config's
// under a replay) and one restored from the store printed it in UTC, so
// one log showed two zones for one outage.
func TestWindowLogInUTC(t *testing.T) {
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	for _, zone := range []*time.Location{time.UTC, seoul, time.FixedZone("-0330", -(3*3600 + 1800))} {
		t.Run(zone.String(), func(t *testing.T) {
			t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).In(zone)
			var buf syncBuffer
			cfg := testConfig(time.Minute, "msg")
			d, w := newTestDaemon(t, cfg, nil, Deps{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
			startPipeline(d, w)
			for _, r := range []struct {
				min  int
				fail string
			}{{0, ""}, {1, "send"}, {2, "send"}, {3, ""}} {
				run := mkRun("msg", t0.Add(time.Duration(r.min)*time.Minute), r.fail)
				d.process(&run)
			}
			out := buf.String()
			for _, want := range []string{
				`msg="window opened" service=svc flow=msg function="" kind=down start=2026-12-04T12:01:00.000Z`,
				`msg="window closed" service=svc flow=msg function="" kind=down start=2026-12-04T12:01:00.000Z end=2026-12-04T12:03:00.000Z`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("the log lacks\n\t%s\nin:\n%s", want, out)
				}
			}
		})
	}
}
