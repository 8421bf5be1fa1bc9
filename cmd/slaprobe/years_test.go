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

// TestRangePastYear9999IsBadInput: a report whose range ends after the year
// 9999 in the config's zone is bad input (exit 2), said before any work.
// RFC 3339, and so every output's times, stops at 9999-12-31: --month
// 9999-12 ends at 10000-01-01, and --to 9999-12-31T23:00:00Z is 10000-01-01
// 04:45 in Asia/Kathmandu, so both read the store, built the report and
// failed at the end with "render: json: ... Time.MarshalJSON: year outside
// of range [0,9999]", exit 1, as if the report had found a failure; windows
// printed [] and exit 0. A range before 0001-01-01T00:00:00Z is bad input too.
func TestRangePastYear9999IsBadInput(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "results.db")
	st, err := store.OpenSQLite(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`location: office
timezone: Asia/Kathmandu
services:
  - name: web
    flows:
      - name: home
        steps:
          - {name: get, function: view, request: {url: "http://127.0.0.1:1/"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "r.json")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"month 9999-12", []string{"report", "--month", "9999-12", "--format", "json", "--out", out}, `month "9999-12": 10000-01-01T00:00:00+05:45 is after 9999-12-31 in Asia/Kathmandu`},
		{"to past 9999 in the zone", []string{"report", "--from", "9999-12-31T12:00:00Z", "--to", "9999-12-31T23:00:00Z", "--format", "json", "--out", out}, "--to 9999-12-31T23:00:00Z (10000-01-01T04:45:00+05:45) is after 9999-12-31 in Asia/Kathmandu"},
		{"windows to past 9999 in the zone", []string{"windows", "--from", "9999-12-31T12:00:00Z", "--to", "9999-12-31T23:00:00Z", "--format", "json"}, "is after 9999-12-31 in Asia/Kathmandu"},
		// Before Go's zero time the store's horizon (zero: nothing pruned)
		// is after --from: the old code warned "results before
		// 0001-01-01T05:41:16+05:41 were pruned" of a store that pruned nothing.
		{"windows from before year 1", []string{"windows", "--from", "0000-06-01T00:00:00Z", "--to", "2026-01-01", "--format", "json"}, "--from 0000-06-01T00:00:00Z (0000-06-01T05:41:16+05:41) is before 0001-01-01T00:00:00Z"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runMain(context.Background(), append(tc.args, "--config", cfg, "--db", db), &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), exitUsage, tc.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}
