package config

import (
	"slices"
	"strings"
	"testing"
)

// TestWarningsTeardownOutlastsInterval: a flow with teardown steps runs its
// steps within its timeout, then its teardown within a deadline of its own
// as long, so a run can last twice the timeout. check accepted a timeout of
// up to the whole interval there, and such a flow's next run was skipped
// while one lasted (slaprobe_runs_skipped_total), without a word. Now it is
// a warning at the flow's teardown: once twice the timeout is longer than
// the interval, not at half or below, not for a flow without teardown.
func TestWarningsTeardownOutlastsInterval(t *testing.T) {
	flow := func(name, knobs, teardown string) string {
		s := "      - name: " + name + "\n" + knobs +
			"        steps:\n          - {name: send, function: send, request: {method: POST, url: \"http://127.0.0.1/send\"}}\n"
		if teardown != "" {
			s += "        teardown:\n" + teardown
		}
		return s
	}
	logout := "          - {name: logout, function: send, request: {method: POST, url: \"http://127.0.0.1/logout\"}}\n"
	src := "defaults: {interval: 60s, timeout: 40s}\nservices:\n  - name: msg\n    flows:\n" +
		flow("by-default", "", logout) + // 2 x 40s > 60s: warned
		flow("at-half", "        timeout: 30s\n", logout) + // 2 x 30s = 60s: every run kept
		flow("whole-interval", "        interval: 20s\n        timeout: 20s\n", logout) + // warned
		flow("no-teardown", "", "") // 40s of 60s: no teardown, no warning
	got := warningLines(t, src)
	msg := func(timeout, interval, half string) string {
		return "a run can last twice the timeout (the steps, then the teardown with a deadline of its own as long): 2 x " +
			timeout + " is longer than the interval " + interval + ", and the flow's next run is skipped while one lasts: a timeout of at most " +
			half + " keeps every run"
	}
	want := []string{
		"9: services[0].flows[0].teardown: " + msg("40s", "1m0s", "30s"),
		"22: services[0].flows[2].teardown: " + msg("20s", "20s", "10s"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s\nconfig:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), src)
	}
}
