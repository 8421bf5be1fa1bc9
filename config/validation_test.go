package config

import (
	"strings"
	"testing"
)

// TestValidationGaps covers #15 findings 2 and 10: settings that used to
// be accepted and then froze the daemon, overflowed, or depended on the
// host; each is one clear error naming its line and key.
func TestValidationGaps(t *testing.T) {
	flow := func(extra string) string {
		return "services:\n  - name: s\n    flows:\n      - name: f\n" + extra +
			"        steps:\n          - {name: a, function: b, request: {url: \"http://127.0.0.1/\"}}\n"
	}
	step := func(extra string) string {
		return "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: b, request: {url: \"http://127.0.0.1/\"}" + extra + "}\n"
	}
	tests := []struct {
		name, src, want string
	}{
		{"defaults.interval 1ns", "defaults: {interval: 1ns}\n" + flow(""), "test.yaml:1: defaults.interval: 1ns is below the minimum of 1s"},
		{"flow interval 1us", flow("        interval: 1us\n"), "test.yaml:5: services[0].flows[0].interval: 1µs is below the minimum of 1s"},
		{"defaults.timeout 1ns", "defaults: {timeout: 1ns}\n" + flow(""), "test.yaml:1: defaults.timeout: 1ns is below the minimum of 100ms"},
		{"step timeout 1ms", step(", timeout: 1ms"), "test.yaml:6: services[0].flows[0].steps[0].timeout: 1ms is below the minimum of 100ms"},
		{"poll every 1ns", step(", poll: {every: 1ns, within: 1s}"), "services[0].flows[0].steps[0].poll.every: 1ns is below the minimum of 10ms"},
		{"retention 1ns", "storage: {retention: 1ns}\n" + flow(""), "test.yaml:1: storage.retention: 1ns is below the minimum of 1h0m0s"},
		{"minute_retention 1ns", "storage: {minute_retention: 1ns}\n" + flow(""), "test.yaml:1: storage.minute_retention: 1ns is below the minimum of 1h0m0s"},
		{"hour_retention 1ns", "storage: {hour_retention: 1ns}\n" + flow(""), "test.yaml:1: storage.hour_retention: 1ns is below the minimum of 1h0m0s"},
		{"resend 1ns", "alerting: {alertmanager: {urls: [\"http://127.0.0.1:9093\"], resend: 1ns}}\n" + flow(""), "alerting.alertmanager.resend: 1ns is below the minimum of 1s"},
		{"timezone Local", "timezone: Local\n" + flow(""), `test.yaml:1: timezone: unknown time zone "Local"`},
		{"listen with a bogus host", "listen: \"bogus host!:80\"\n" + flow(""), `test.yaml:1: listen: invalid address "bogus host!:80"`},
		{"max_body_bytes that overflows", "defaults: {max_body_bytes: \"17179869185GiB\"}\n" + flow(""), `test.yaml:1: defaults.max_body_bytes: size "17179869185GiB" is too large`},
		{"max_body_bytes over the limit", "defaults: {max_body_bytes: 2GiB}\n" + flow(""), `test.yaml:1: defaults.max_body_bytes: "2GiB" is more than the limit of 1GiB`},
		// The schedule is in the config's timezone: a zone of its own was
		// accepted here and made run's report scheduler fail to start.
		{"schedule with CRON_TZ", "timezone: Asia/Seoul\nreports: {schedule: \"CRON_TZ=UTC 10 0 1 * *\"}\n" + flow(""), `test.yaml:2: reports.schedule: "CRON_TZ=UTC 10 0 1 * *" names a time zone: the schedule follows the config's timezone; set that instead`},
		{"schedule with TZ", "reports: {schedule: \"TZ=Europe/London @monthly\"}\n" + flow(""), `test.yaml:1: reports.schedule: "TZ=Europe/London @monthly" names a time zone: the schedule follows the config's timezone; set that instead`},
		// A date that never comes (30 February): gocron refuses a schedule
		// with no next time, so run's report scheduler failed to start.
		{"schedule that never fires", "reports: {schedule: \"0 0 30 2 *\"}\n" + flow(""), `test.yaml:1: reports.schedule: "0 0 30 2 *" never fires (no such date)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("test.yaml", []byte(tt.src), Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got:\n%v\nwant %q", err, tt.want)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("%d errors, want 1:\n%v", n, err)
			}
		})
	}
	for _, listen := range []string{":9115", "localhost:9115", "[::1]:9115", "0.0.0.0:80", "prober-1.example.com:9115"} {
		if _, err := Parse("test.yaml", []byte("listen: \""+listen+"\"\n"+flow("")), Options{}); err != nil {
			t.Errorf("listen %s: %v", listen, err)
		}
	}
}

// TestTimelineFunctionsScalar: "functions: login" is one error, not two.
func TestTimelineFunctionsScalar(t *testing.T) {
	src := "incidents:\n  - id: x\n    service: s\n    functions: login\n    start: 2022-10-15T15:30:00+09:00\n"
	_, err := ParseTimeline("t.yaml", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 1 || !strings.Contains(err.Error(), "t.yaml:4: incidents[0].functions: expected a list") {
		t.Errorf("%d errors:\n%v", n, err)
	}
}

// TestTimelineErrorLines: a timeline error names the line of the key that
// is wrong, when the key is there, not the incident's first line.
func TestTimelineErrorLines(t *testing.T) {
	head := "incidents:\n  - id: x\n    service: s\n"
	tests := []struct {
		name, src, want string
	}{
		{"empty functions", head + "    start: 2022-10-15T15:30:00+09:00\n    functions: []\n", "t.yaml:5: incidents[0].functions: is required: list at least one function"},
		{"missing functions", head + "    start: 2022-10-15T15:30:00+09:00\n", "t.yaml:2: incidents[0].functions: is required"},
		{"end before start", head + "    functions: [a]\n    start: 2022-10-15T15:30:00+09:00\n    end: 2022-10-15T15:00:00+09:00\n", "t.yaml:6: incidents[0].end: end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTimeline("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatal("accepted")
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%d errors:\n%v\nwant %q", n, err, tt.want)
			}
		})
	}
}
