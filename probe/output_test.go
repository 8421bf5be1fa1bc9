package probe

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// sampleRuns is one passing and one failing run with fixed times.
// kst is the zone sampleRuns' times are written in.
var kst = time.FixedZone("KST", 9*3600)

func sampleRuns() []Run {
	start := time.Date(2021, 5, 5, 21, 47, 0, 0, kst)
	return []Run{
		{
			ID: "0123456789abcdef", Flow: "messaging-roundtrip", Service: "messaging", Location: "seoul-a",
			Start: start, Duration: 10*time.Second + 120*time.Millisecond,
			Steps: []StepResult{
				{Step: "login", Function: "login", Status: StatusOK, HTTPStatus: 200, Duration: 45 * time.Millisecond, Attempts: 1,
					Phases: Phases{Resolve: time.Millisecond, Connect: 2 * time.Millisecond, TLS: 10 * time.Millisecond, Processing: 30 * time.Millisecond, Transfer: 2 * time.Millisecond}},
				{Step: "send", Function: "send", Status: StatusDegraded, HTTPStatus: 201, Duration: 2500 * time.Millisecond, Attempts: 1,
					Error: "send: latency 2.5s over objective 2s", Phases: Phases{Processing: 2499 * time.Millisecond, Transfer: time.Millisecond}},
				{Step: "receive", Function: "receive", Status: StatusFailed, HTTPStatus: 200, Duration: 10 * time.Second, Attempts: 21,
					Error: `receive: expectation not met within 10s: $.messages[*].id does not contain "m-17"`, Phases: Phases{Processing: 3 * time.Millisecond}},
				{Step: "media", Function: "media", Status: StatusNotRun, Error: "not run: step receive failed"},
			},
		},
		{
			ID: "fedcba9876543210", Flow: "payments", Service: "payments", Location: "seoul-a",
			Start: start.Add(time.Minute), Duration: 80 * time.Millisecond,
			Steps: []StepResult{
				{Step: "transfer", Function: "send", Status: StatusOK, HTTPStatus: 201, Duration: 80 * time.Millisecond, Attempts: 1,
					Phases:     Phases{Processing: 70 * time.Millisecond, Transfer: 500 * time.Microsecond},
					CertExpiry: time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)},
			},
			Teardown: []StepResult{
				{Step: "refund", Function: "refund", Status: StatusFailed, HTTPStatus: 500, Duration: 20 * time.Millisecond, Attempts: 1,
					Error: "refund: status 500, want 200-399"},
			},
		},
	}
}

func TestWriteOutput(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		write  func(*bytes.Buffer, []Run) error
		runs   []Run
	}{
		{"text", "once.txt", func(b *bytes.Buffer, r []Run) error { return WriteText(b, r) }, sampleRuns()},
		{"json", "once.json", func(b *bytes.Buffer, r []Run) error { return WriteJSON(b, r, kst) }, sampleRuns()},
		{"json empty", "once-empty.json", func(b *bytes.Buffer, r []Run) error { return WriteJSON(b, r, kst) }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b, tc.runs); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("output differs from %s (rerun with -update if intended):\n%s", path, b.String())
			}
		})
	}
}

// TestWriteJSONKeys checks the keys DESIGN promises to `once --format json` users.
func TestWriteJSONKeys(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleRuns(), kst); err != nil {
		t.Fatal(err)
	}
	var runs []map[string]any
	if err := json.Unmarshal(b.Bytes(), &runs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"flow", "service", "location", "start", "ok", "id", "duration_seconds", "steps"} {
		if _, ok := runs[0][k]; !ok {
			t.Errorf("run has no %q", k)
		}
	}
	step := runs[0]["steps"].([]any)[2].(map[string]any)
	for _, k := range []string{"step", "function", "status", "http_status", "duration_seconds", "error", "attempts", "phases"} {
		if _, ok := step[k]; !ok {
			t.Errorf("step has no %q", k)
		}
	}
	if runs[0]["ok"] != false || runs[1]["ok"] != true || step["status"] != "failed" || step["attempts"] != 21.0 {
		t.Errorf("values: %v", runs)
	}
	if p := step["phases"].(map[string]any); p["processing"] != 0.003 {
		t.Errorf("phases %v", p)
	}
}

// TestWriteTextBlanksControlCharacters: an error quoting a hostile target
// (a WebSocket close reason) cannot move the cursor, change colours or ring
// the bell of the terminal `once` prints to, as `windows` already ensures.
func TestWriteTextBlanksControlCharacters(t *testing.T) {
	for _, tc := range []struct{ name, err string }{
		{"escape sequence", "a: closed by the server (1011: \x1b[31mRED\x1b[2J)"},
		{"bell and backspace", "a: closed by the server (1011: \a\b\b\bok)"},
		{"line breaks", "a: closed by the server (1011: one\r\ntwo\vthree\ffour)"},
		{"C1 controls and DEL", "a: closed by the server (1011: \u009b31m\u0085\x7f)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runs := []Run{{ID: "r", Flow: "f", Service: "s", Location: "l",
				Steps: []StepResult{{Step: "a", Function: "f", Status: StatusFailed, Error: tc.err}}}}
			var b bytes.Buffer
			if err := WriteText(&b, runs); err != nil {
				t.Fatal(err)
			}
			out := strings.TrimSuffix(b.String(), "\n")
			if n := strings.Count(out, "\n"); n != 2 {
				t.Errorf("%d lines, want 3:\n%s", n+1, out)
			}
			for _, r := range strings.ReplaceAll(out, "\n", "") {
				if unicode.IsControl(r) {
					t.Errorf("control character %U in %q", r, out)
				}
			}
		})
	}
}

// TestWriteJSONStartInZone: a run's start is given in the zone passed (the
// config's), not in the host's TZ that the clock put it in; nil is UTC.
func TestWriteJSONStartInZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	host := time.FixedZone("NZDT", 13*3600)
	tests := []struct {
		name string
		loc  *time.Location
		want string
	}{
		{"config zone", ny, "2021-05-05T08:47:00-04:00"},
		{"nil is UTC", nil, "2021-05-05T12:47:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs := sampleRuns()[:1]
			runs[0].Start = runs[0].Start.In(host)
			var b bytes.Buffer
			if err := WriteJSON(&b, runs, tc.loc); err != nil {
				t.Fatal(err)
			}
			var got []struct {
				Start string `json:"start"`
			}
			if err := json.Unmarshal(b.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got[0].Start != tc.want {
				t.Errorf("start = %s, want %s", got[0].Start, tc.want)
			}
		})
	}
}

// TestWriteTextSummary: the last line counts runs in the singular for one
// ("1 runs:" before), as check's summary does.
func TestWriteTextSummary(t *testing.T) {
	ok := Run{ID: "r", Flow: "f", Service: "s", Location: "l",
		Steps: []StepResult{{Step: "a", Function: "f", Status: StatusOK, Attempts: 1}}}
	for _, tc := range []struct {
		name string
		runs []Run
		want string
	}{
		{"none", nil, "0 runs: 0 ok, 0 degraded, 0 failed; steps: 0 ok, 0 degraded, 0 failed, 0 not run\n"},
		{"one", []Run{ok}, "1 run: 1 ok, 0 degraded, 0 failed; steps: 1 ok, 0 degraded, 0 failed, 0 not run\n"},
		{"two", []Run{ok, ok}, "2 runs: 2 ok, 0 degraded, 0 failed; steps: 2 ok, 0 degraded, 0 failed, 0 not run\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tc.runs); err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(b.String(), "\n")
			if got := lines[len(lines)-2]; got != tc.want {
				t.Errorf("summary %q, want %q", got, tc.want)
			}
		})
	}
}
