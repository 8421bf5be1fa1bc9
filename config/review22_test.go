package config

import (
	"slices"
	"strings"
	"testing"
)

// TestWarningsPollLatencySince: a poll with an expect.latency that does not
// write its since is warned of at its poll: its objective was the poll's own
// time before poll.since came and is now checked against send-to-receive, so
// a config written for the old figure turned degraded after the upgrade
// without a word. A poll that writes since (either way), or has no latency
// objective, or is the first of its list (its own time), is not.
func TestWarningsPollLatencySince(t *testing.T) {
	step := func(name, poll, expect string) string {
		return "          - {name: " + name + ", function: f, request: {url: \"http://127.0.0.1:1/\"}, poll: " + poll + ", expect: " + expect + "}\n"
	}
	src := "services:\n  - name: s\n    flows:\n      - name: f\n        steps:\n" +
		step("first", "{every: 1s, within: 5s}", "{latency: 2s}") +
		step("send", "{every: 1s, within: 5s, since: send}", "{status: [200]}") +
		step("receive", "{every: 1s, within: 5s}", "{latency: 2s}") +
		step("named", "{every: 1s, within: 5s, since: send}", "{latency: 2s}") +
		step("own", "{every: 1s, within: 5s, since: own}", "{latency: 2s}") +
		step("nolatency", "{every: 1s, within: 5s}", "{status: [200]}")
	got := warningLines(t, src)
	want := []string{`8: services[0].flows[0].steps[2].poll.since: not set, so expect.latency 2s is checked against the time from the start of "send" (the step just before) to the answer that showed the message, not the poll's own time as before poll.since: write since: receive to keep that, or since: send to say so`}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
