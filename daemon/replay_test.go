package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/platform"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

const replayConfig = `
location: seoul-a
timezone: Asia/Seoul
defaults: {interval: 60s, timeout: 30s, down_after: 2, up_after: 1}
services:
  - name: account
    flows:
      - name: account-login
        vars: &demo {base: "http://127.0.0.1:18080", user: "probe-${location}", password: demo}
        steps:
          - name: login
            function: login
            request:
              method: POST
              url: ${base}/account/login
              json: {user: "${user}", password: "${password}"}
            expect: {status: [200]}
  - name: messaging
    flows:
      - name: messaging-roundtrip
        vars: *demo
        steps:
          - name: login
            function: login
            request:
              method: POST
              url: ${base}/messaging/login
              json: {user: "${user}", password: "${password}"}
            expect: {status: [200]}
            extract: {token: {jsonpath: "$.token"}}
          - name: send
            function: send
            request:
              method: POST
              url: ${base}/messaging/messages
              headers: {Authorization: "Bearer ${token}"}
              json: {to: "${user}", text: "probe ${run.id}"}
            expect: {status: [201]}
            extract: {message_id: {jsonpath: "$.id"}}
          - name: receive
            function: receive
            request:
              url: ${base}/messaging/inbox?after=${message_id}
              headers: {Authorization: "Bearer ${token}"}
            poll: {every: 500ms, within: 10s}
            expect:
              status: [200]
              jsonpath: {"$.messages[*].id": {contains: "${message_id}"}}
`

// replayOnce replays two hours with messages dropped (not received) for
// the middle 30 minutes, against a fresh demo platform and store.
func replayOnce(t *testing.T, from time.Time) (*fakeStore, []float64) {
	t.Helper()
	cfg, err := config.Parse("replay.yaml", []byte(replayConfig), config.Options{})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tl := &config.Timeline{Name: "test", Incidents: []config.Incident{{
		ID: "drop", Service: "messaging", Functions: []string{"receive"}, Mode: config.ModeDrop, Rate: 1,
		Start: from.Add(30 * time.Minute), End: from.Add(60 * time.Minute),
	}}}
	p := platform.New(platform.Options{Timelines: []*config.Timeline{tl}})
	st := &fakeStore{}
	var progress []float64
	err = Replay(context.Background(), cfg, Deps{Store: st, Transport: p.Transport()}, from, from.Add(2*time.Hour),
		func(done, total time.Duration) { progress = append(progress, float64(done)/float64(total)) })
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	return st, progress
}

func TestReplayDetectsDropAndIsDeterministic(t *testing.T) {
	from := time.Date(2021, 5, 5, 21, 0, 0, 0, time.UTC)
	st, progress := replayOnce(t, from)
	runs, evs := st.snapshot()

	perFlow := map[string]int{}
	for _, r := range runs {
		perFlow[r.Flow]++
		if r.Start.Before(from) || !r.Start.Before(from.Add(2*time.Hour)) {
			t.Errorf("run %s starts at %v, outside the range", r.ID, r.Start)
		}
	}
	// A steady flow runs exactly once a minute; messaging too, outside its
	// outage (inside it, it also runs every confirm_every: 10s).
	if n := perFlow["account-login"]; n != 120 {
		t.Errorf("flow account-login ran %d times in 2h at 60s, want 120", n)
	}
	before, after := 0, 0
	for _, r := range runs {
		if r.Flow != "messaging-roundtrip" {
			continue
		}
		switch d := r.Start.Sub(from); {
		case d < 30*time.Minute:
			before++
		case d >= 65*time.Minute:
			after++
		}
	}
	if before != 30 || after != 55 || perFlow["messaging-roundtrip"] <= 120 {
		t.Errorf("messaging: %d runs before the outage (want 30), %d in the last 55 minutes (want 55), %d in all (want more than 120: confirm runs)",
			before, after, perFlow["messaging-roundtrip"])
	}
	if len(progress) == 0 || progress[len(progress)-1] != 1 || !slices.IsSorted(progress) {
		t.Errorf("progress %v: want non-decreasing up to 1", progress)
	}

	// One down window on messaging and on its receive function, from the
	// first failing run (within an interval of the incident start) to the
	// first passing one (within an interval of its end); none on account.
	var downs []state.Window
	for _, e := range evs {
		if e.Op == state.OpClose && e.Window.Kind == state.KindDown {
			downs = append(downs, e.Window)
		}
	}
	if len(downs) != 2 {
		t.Fatalf("closed down windows: %d, want 2 (flow and receive): %s", len(downs), eventsString(evs))
	}
	slack := time.Minute + 2*time.Second // interval + jitter
	for _, w := range downs {
		if w.Flow != "messaging-roundtrip" || (w.Function != "" && w.Function != "receive") {
			t.Errorf("window on %s/%q", w.Flow, w.Function)
		}
		if d := w.Start.Sub(from.Add(30 * time.Minute)); d < 0 || d > slack {
			t.Errorf("window starts %v after the incident, want within %v", d, slack)
		}
		// A run that starts just before the end polls for 10 s and fails.
		if d := w.End.Sub(from.Add(60 * time.Minute)); d < 0 || d > slack {
			t.Errorf("window ends %v after the incident, want within %v", d, slack)
		}
		if w.CauseStep != "receive" {
			t.Errorf("cause step %q, want receive", w.CauseStep)
		}
	}

	// The same replay again gives the same runs and events.
	st2, _ := replayOnce(t, from)
	runs2, evs2 := st2.snapshot()
	if a, b := digest(runs), digest(runs2); a != b {
		t.Errorf("replay not deterministic, first difference:\n%s", firstDiff(a, b))
	}
	if eventsString(sortEvents(evs)) != eventsString(sortEvents(evs2)) {
		t.Errorf("events differ between replays")
	}
}

func digest(runs []probe.Run) string {
	lines := make([]string, 0, len(runs))
	for _, r := range runs {
		var steps []string
		for _, s := range r.Steps {
			steps = append(steps, fmt.Sprintf("%s=%s/%d/%d", s.Step, s.Status, s.HTTPStatus, s.Attempts))
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s %s", r.ID, r.Flow, r.Start.Format(time.RFC3339Nano), r.Duration, strings.Join(steps, ",")))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return al[i] + "\n" + bl[i]
		}
	}
	return fmt.Sprintf("%d vs %d lines", len(al), len(bl))
}

func sortEvents(evs []state.Event) []state.Event {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b state.Event) int {
		return strings.Compare(a.Window.Flow+"/"+a.Window.Function, b.Window.Flow+"/"+b.Window.Function)
	})
	return out
}
