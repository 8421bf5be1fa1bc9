package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSpoolPath: the spool is beside a SQLite database, named after it (two
// probers whose databases share a directory keep their own), and with
// PostgreSQL in the working directory, named after the location (probers
// sharing one database each keep their own), as the report archive is.
func TestSpoolPath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ driver, dsn, location, want string }{
		{"", "/var/lib/slaprobe/results.db", "seoul-a", "/var/lib/slaprobe/results.db.slaprobe-spool.jsonl"},
		{"sqlite", "/data/b.db", "seoul-a", "/data/b.db.slaprobe-spool.jsonl"},
		{"postgres", "postgres://probe:pw@db/slaprobe", "seoul-a", filepath.Join(wd, "slaprobe-spool-seoul-a.jsonl")},
		{"postgres", "postgres://probe:pw@db/slaprobe", "a/b c", filepath.Join(wd, "slaprobe-spool-a%2Fb%20c.jsonl")},
	} {
		if got := spoolPath(tc.driver, tc.dsn, tc.location); got != tc.want {
			t.Errorf("spoolPath(%q, %q, %q) = %s, want %s", tc.driver, tc.dsn, tc.location, got, tc.want)
		}
	}
}

// TestAlertStatePath: the alert state file is beside a SQLite database,
// named after it, and with PostgreSQL in the working directory, named
// after the location, beside the spool (probers sharing one database each
// keep their own). Before, with PostgreSQL there was none.
func TestAlertStatePath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ driver, dsn, location, want string }{
		{"", "/var/lib/slaprobe/results.db", "seoul-a", "/var/lib/slaprobe/.results.db.slaprobe-alerts.json"},
		{"sqlite", "/data/b.db", "seoul-a", "/data/.b.db.slaprobe-alerts.json"},
		{"postgres", "postgres://probe:pw@db/slaprobe", "seoul-a", filepath.Join(wd, "slaprobe-alerts-seoul-a.json")},
		{"postgres", "postgres://probe:pw@db/slaprobe", "a/b c", filepath.Join(wd, "slaprobe-alerts-a%2Fb%20c.json")},
	} {
		if got := alertStatePath(tc.driver, tc.dsn, tc.location); got != tc.want {
			t.Errorf("alertStatePath(%q, %q, %q) = %s, want %s", tc.driver, tc.dsn, tc.location, got, tc.want)
		}
	}
}
