package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestWindowsSaysBelowQuorum: `windows` over a range in which one location
// of two was down alone (below the majority quorum) says on stderr that it
// left below-quorum windows out, with their locations; the list on stdout
// is still the counted windows (JSON: []). Before, it printed "(no
// windows)" and nothing else while busan-b had been down for minutes (seen
// by hand with two probers on one PostgreSQL database), where the report
// lists the same windows under below_quorum: an operator asking `windows`
// about an outage at one location read that nothing was seen.
func TestWindowsSaysBelowQuorum(t *testing.T) {
	cfgPath, db := homeConfig(t, "seoul-a", "")
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	storeHomeRuns(t, db, "seoul-a", minutes(from, 60), nil)
	storeHomeRuns(t, db, "busan-b", minutes(from, 60), between(from, 20, 30))

	for _, format := range []string{"text", "json"} {
		var out, errb bytes.Buffer
		args := []string{"windows", "--config", cfgPath, "--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T11:00:00Z", "--format", format}
		if code := runMain(context.Background(), args, &out, &errb); code != exitOK {
			t.Fatalf("%s: exit %d: %s", format, code, errb.String())
		}
		want := map[string]string{"text": "(no windows)\n", "json": "[]"}[format]
		if !strings.Contains(out.String(), want) {
			t.Errorf("%s: stdout %q, want the counted windows only (%q)", format, out.String(), want)
		}
		if msg := "2 below-quorum windows (seen from too few locations to count as downtime: busan-b) are not listed"; !strings.Contains(errb.String(), msg) {
			t.Errorf("%s: stderr %q lacks %q", format, errb.String(), msg)
		}
	}
}
