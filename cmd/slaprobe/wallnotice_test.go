package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/store"
)

// TestRangeWallTimeNotice: --from/--to without an offset are read in the
// config's timezone, and where that wall time occurs twice (New York's
// 2026-11-01 01:00-02:00) or not at all (2026-03-08 02:00-03:00) the reading
// taken was silent: windows --from 2026-11-01T01:00:00 took 01:00 EDT, an
// hour before the 01:00 EST a reader may have meant. Now one line on
// standard error names both readings and the one taken (or the jump), and
// standard output is what the same range with the offset written gives.
// An RFC 3339 time, a date, and a wall time read once say nothing.
func TestRangeWallTimeNotice(t *testing.T) {
	dir := t.TempDir()
	cfgPath, db := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "r.db")
	if err := os.WriteFile(cfgPath, []byte(`location: office
timezone: America/New_York
storage: {dsn: r.db}
services:
  - name: web
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), append(args, "--config", cfgPath, "--db", db), &out, &errb); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String(), errb.String()
	}
	tests := []struct {
		from, to string
		same     string // --from with the offset it was read with
		notice   string // on stderr; "" for none
	}{
		{"2026-11-01T01:00:00", "2026-11-01T03:00:00", "2026-11-01T01:00:00-04:00",
			"slaprobe windows: --from 2026-11-01T01:00:00 happened twice in America/New_York, the clocks going back: took the first, 2026-11-01T01:00:00-04:00 (EDT), not 2026-11-01T01:00:00-05:00 (EST) an hour later; write the offset to choose\n"},
		{"2026-11-01T01:30", "2026-11-01T03:00:00", "2026-11-01T01:30:00-04:00",
			"slaprobe windows: --from 2026-11-01T01:30 happened twice in America/New_York, the clocks going back: took the first, 2026-11-01T01:30:00-04:00 (EDT), not 2026-11-01T01:30:00-05:00 (EST) an hour later; write the offset to choose\n"},
		{"2026-03-08T02:30:00", "2026-03-08T05:00:00", "2026-03-08T03:00:00-04:00",
			"slaprobe windows: --from 2026-03-08T02:30:00 did not happen in America/New_York, the clocks jumping forward over it: took the end of the jump, 2026-03-08T03:00:00-04:00 (EDT); write the offset meant (-05:00 before the change, -04:00 after)\n"},
		{"2026-11-01T00:30:00", "2026-11-01T03:00:00", "2026-11-01T00:30:00-04:00", ""},
		{"2026-11-01T01:00:00-05:00", "2026-11-01T03:00:00", "2026-11-01T01:00:00-05:00", ""},
		{"2026-11-01", "2026-11-02", "2026-11-01T00:00:00-04:00", ""},
	}
	for _, tc := range tests {
		t.Run(tc.from, func(t *testing.T) {
			out, errs := run("windows", "--from", tc.from, "--to", tc.to, "--format", "json")
			if errs != tc.notice {
				t.Errorf("stderr:\n got %q\nwant %q", errs, tc.notice)
			}
			if want, _ := run("windows", "--from", tc.same, "--to", tc.to, "--format", "json"); out != want {
				t.Errorf("stdout %q, want %q as for --from %s", out, want, tc.same)
			}
			if strings.Count(errs, "\n") > 1 {
				t.Errorf("more than one line: %q", errs)
			}
		})
	}
	// report and demo read --from/--to alike.
	_, errs := run("report", "--from", "2026-11-01T00:00:00", "--to", "2026-11-01T01:30:00", "--format", "json", "--out", filepath.Join(dir, "r.json"))
	if !strings.HasPrefix(errs, "slaprobe report: --to 2026-11-01T01:30:00 happened twice in America/New_York") {
		t.Errorf("report stderr %q", errs)
	}
}
