package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestReportPastRangeProberStoppedNearEnd: `report` over a range that is
// long over, whose location's last run came less than two intervals
// before its end and never another (the prober stopped for good): every
// minute from 10:00, the last run at 10:20, the range 10:00-10:21:30. The
// run due at 10:21 never came, so 10:21:00-10:21:30 is unknown (README,
// Accounting policy), as the publisher's report of the range (made with
// the wall clock) says. The command took the range's end for now
// (reportNow), so two intervals had never passed since 10:20: it read
// 0 s unknown, and under `policy.unknown: down` 100% where the month's
// archived report reads 97.7%. Now it accounts a range that is over as of
// the wall clock: the stretch is unknown.
func TestReportPastRangeProberStoppedNearEnd(t *testing.T) {
	cfgPath, db := homeConfig(t, "seoul-a", "policy: {unknown: down}\n")
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	storeHomeRuns(t, db, "seoul-a", minutes(from, 21), nil)

	var out, errb bytes.Buffer
	args := []string{"report", "--config", cfgPath, "--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T10:21:30Z", "--format", "json", "--out", "-"}
	if code := runMain(context.Background(), args, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep struct {
		Services []struct {
			Availability   *float64 `json:"availability"`
			UnknownSeconds float64  `json:"unknown_seconds"`
		} `json:"services"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Services) != 1 {
		t.Fatalf("services %+v", rep.Services)
	}
	sv := rep.Services[0]
	if want := 1260.0 / 1290; sv.UnknownSeconds != 30 || sv.Availability == nil || *sv.Availability != want {
		t.Errorf("unknown %g s, availability %v; want 30 s unknown (10:21:00-10:21:30), availability %g", sv.UnknownSeconds, sv.Availability, want)
	}
}
