package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestReportOfAPeriodNotYetOver: `report` and `windows` over a range that
// ends in the future (this month, --to tomorrow) account the time up to now
// only. Before, the builder was told the period was over: the time after the
// last run was unknown (with `unknown: down`, downtime: availability 12%),
// and a window still open was "went on after the period" (end_cut period).
func TestReportOfAPeriodNotYetOver(t *testing.T) {
	cfgPath, db := homeConfig(t, "test-a", "policy: {unknown: down}\n")
	// Runs every minute for the last three hours; the last five fail, so a
	// window is open now.
	now := time.Now().UTC()
	from := now.Add(-3 * time.Hour).Truncate(time.Minute)
	var times []time.Time
	for at := from; at.Before(now.Add(-time.Minute)); at = at.Add(time.Minute) {
		times = append(times, at)
	}
	storeHomeRuns(t, db, "test-a", times, func(at time.Time) bool { return now.Sub(at) < 6*time.Minute })

	to := now.Add(21 * time.Hour).Format(time.RFC3339)
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"report", "--config", cfgPath, "--db", db, "--from", from.Format(time.RFC3339), "--to", to, "--format", "json", "--out", "-"}, &out, &errb); code != 0 {
		t.Fatalf("report: exit %d: %s", code, errb.String())
	}
	var rep struct {
		Generated time.Time `json:"generated"`
		Services  []struct {
			Availability   *float64 `json:"availability"`
			UnknownSeconds float64  `json:"unknown_seconds"`
			Windows        []struct {
				End    *time.Time `json:"end"`
				EndCut string     `json:"end_cut"`
			} `json:"windows"`
		} `json:"services"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	svc := rep.Services[0]
	if svc.UnknownSeconds > 180 {
		t.Errorf("unknown = %.0f s: the time after now counted as unknown", svc.UnknownSeconds)
	}
	if svc.Availability == nil || *svc.Availability < 0.95 {
		a := "null"
		if svc.Availability != nil {
			a = fmt.Sprint(*svc.Availability)
		}
		t.Errorf("availability = %s, want about 0.97 (5 of 180 minutes down)", a)
	}
	if rep.Generated.After(time.Now().Add(time.Minute)) {
		t.Errorf("generated %s, in the future", rep.Generated)
	}
	if len(svc.Windows) == 0 {
		t.Fatal("no window")
	}
	for _, w := range svc.Windows {
		if w.End != nil || w.EndCut != "" {
			t.Errorf("open window: end %v end_cut %q, want null and no cut (still open)", w.End, w.EndCut)
		}
	}

	out.Reset()
	if code := runMain(context.Background(), []string{"windows", "--config", cfgPath, "--db", db, "--from", from.Format(time.RFC3339), "--to", to, "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("windows: exit %d: %s", code, errb.String())
	}
	var ws []struct {
		End    *time.Time `json:"end"`
		EndCut string     `json:"end_cut"`
	}
	if err := json.Unmarshal(out.Bytes(), &ws); err != nil {
		t.Fatal(err)
	}
	if len(ws) == 0 || ws[0].End != nil || ws[0].EndCut != "" {
		t.Errorf("windows: %+v, want the open window with end null and no cut", ws)
	}
}

// TestReviewParseTime: --from/--to without an offset name a local wall
// time; one the zone skips (a DST jump) is the first instant after the jump,
// like a bare date. Before, time.ParseInLocation's normalisation was used:
// Santiago's 2024-09-08T00:00 became 2024-09-07T23:00-04:00 (the day before:
// issue #12's midnight fault, back through the date-time form), New York's
// 02:30 on the spring-forward day became 01:30 EST, Lord Howe's 02:10 02:40.
// TestReviewParseTimeRefused: what RFC 3339 does not allow is refused in
// the local form too (exit 2), as config.ParseRFC3339 refuses it.
func TestReviewParseTimeRefused(t *testing.T) {
	for _, in := range []string{"2022-10-15T15:30:00,5", "2022-10-15T15:30:00,5+09:00", "2022-10-15T15:30:00.5Z,"} {
		if got, err := parseTime("from", in, time.UTC); err == nil {
			t.Errorf("%s = %s, want refused", in, got.Format(time.RFC3339Nano))
		}
	}
	// The reason config.ParseRFC3339 gives is not lost for the flag's.
	for in, want := range map[string]string{
		"2016-12-31T23:59:60Z":        "a leap second (:60) cannot be stored: write 23:59:59 or the next second",
		"2026-02-30T10:00:00Z":        "day out of range",
		"2026-05-01T10:00:00+24:00":   "offset hours out of range (00 to 23)",
		"2022-10-15T15:30:00,5+09:00": "a fraction of a second follows a '.' (15:30:00.5), not a ','",
		"2022-10-15 15:30":            `"2022-10-15 15:30": a space between the date and the time, where RFC 3339 has a T: want an RFC 3339 time (2022-10-15T15:30:00+09:00) or a date (2022-10-15)`,
		" 2022-10-15T15:30:00Z":       `" 2022-10-15T15:30:00Z": white space before or after the time: want an RFC 3339 time`,
		"2022-10-15T15:30:00 KST":     "a zone's name (KST) where its offset goes: write the offset, e.g. +09:00: want an RFC 3339 time",
		"2022-10-15T15:30+09:00":      "no seconds: write them (15:30:00): want an RFC 3339 time",
		"2022-10-15T1:30":             `"2022-10-15T1:30": the hour has two digits (01, not 1)`,
		"2022-10-15t1:30:00":          `"2022-10-15t1:30:00": the hour has two digits (01, not 1)`,
		"2022-10-15T1:30:00+09:00":    `"2022-10-15T1:30:00+09:00": the hour has two digits (01, not 1)`,
		"last tuesday":                `"last tuesday": want an RFC 3339 time (2022-10-15T15:30:00+09:00) or a date (2022-10-15)`,
		// The local form needs no offset: a ',' is what keeps it out.
		"2022-10-15T15:30:00,5":  `"2022-10-15T15:30:00,5": a fraction of a second follows a '.' (15:30:00.5), not a ','`,
		"2022-10-15t15:30:00,25": `"2022-10-15t15:30:00,25": a fraction of a second follows a '.' (15:30:00.25), not a ','`,
	} {
		if _, err := parseTime("from", in, time.UTC); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", in, err, want)
		}
	}
}

func TestReviewParseTime(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		zone, in, want string
	}{
		{"America/Santiago", "2024-09-08T00:00", "2024-09-08T01:00:00-03:00"},
		{"America/Santiago", "2024-09-08T00:30:15", "2024-09-08T01:00:00-03:00"},
		{"America/Santiago", "2024-09-08T01:00", "2024-09-08T01:00:00-03:00"},
		{"America/Santiago", "2024-09-08", "2024-09-08T01:00:00-03:00"},
		{"America/Asuncion", "2023-10-01T00:00:00", "2023-10-01T01:00:00-03:00"},
		{"America/Havana", "2024-03-10T00:00", "2024-03-10T01:00:00-04:00"},
		{"America/New_York", "2024-03-10T02:30", "2024-03-10T03:00:00-04:00"},
		{"America/New_York", "2024-11-03T01:30", "2024-11-03T01:30:00-04:00"}, // twice: the first
		{"Australia/Lord_Howe", "2024-10-06T02:10", "2024-10-06T02:30:00+11:00"},
		{"Asia/Kolkata", "2024-03-01T00:00", "2024-03-01T00:00:00+05:30"},
		{"Asia/Kathmandu", "2024-02-29T23:00", "2024-02-29T23:00:00+05:45"},
		{"Pacific/Apia", "2011-12-30", "2011-12-31T00:00:00+14:00"}, // a whole date skipped: the next one's first instant
		{"Pacific/Apia", "2011-12-30T12:00", "2011-12-31T00:00:00+14:00"},
		{"America/Havana", "2020-11-01T00:30", "2020-11-01T00:30:00-04:00"},      // a month's first hour twice: the first
		{"Australia/Lord_Howe", "2024-04-07T01:45", "2024-04-07T01:45:00+11:00"}, // a half hour twice: the first
		{"Asia/Seoul", "2022-10-15T15:30:00+09:00", "2022-10-15T15:30:00+09:00"},
		{"America/Santiago", "2024-09-08T00:00:00Z", "2024-09-07T20:00:00-04:00"}, // an offset is taken as given
		{"Asia/Seoul", "2022-10-15t06:30:00z", "2022-10-15T15:30:00+09:00"},       // RFC 3339's lower case t and z, as a timeline takes them
		{"Asia/Seoul", "2022-10-15t15:30:00+09:00", "2022-10-15T15:30:00+09:00"},
		{"Asia/Seoul", "2022-10-15t15:30", "2022-10-15T15:30:00+09:00"},              // the local form takes a lower case t too
		{"Asia/Seoul", "2022-10-15T15:30:00.25", "2022-10-15T15:30:00.25+09:00"},     // its fraction kept, not dropped
		{"America/New_York", "2024-11-03T01:30:00.5", "2024-11-03T01:30:00.5-04:00"}, // twice: the first, with its fraction
		{"America/New_York", "2024-03-10T02:30:00.5", "2024-03-10T03:00:00-04:00"},   // jumped over: the jump's instant, as without a fraction
		{"Pacific/Apia", "2011-12-30T00:00:00.5", "2011-12-31T00:00:00+14:00"},       // a whole date skipped, at the same wall clock
	}
	for _, tc := range tests {
		loc := zone(tc.zone)
		got, err := parseTime("from", tc.in, loc)
		if err != nil {
			t.Errorf("%s %s: %v", tc.zone, tc.in, err)
			continue
		}
		want, _ := time.Parse(time.RFC3339, tc.want)
		if !got.Equal(want) {
			t.Errorf("%s %s = %s, want %s", tc.zone, tc.in, got.In(loc).Format(time.RFC3339), tc.want)
		}
	}
}
