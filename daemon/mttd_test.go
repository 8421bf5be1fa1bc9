package daemon

import (
	"context"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/state"
	"github.com/slaprobe/slaprobe/store"
)

// freezeTransport answers 200 except in [from, to) of the run's (virtual)
// clock, where it never answers: a SIGSTOPped server, whose kernel accepts
// the connection and nothing reads it.
type freezeTransport struct{ from, to time.Time }

func (f freezeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := clock.FromContext(req.Context(), clock.Real{})
	if now := c.Now(); !now.Before(f.from) && now.Before(f.to) {
		if err := c.Sleep(req.Context(), time.Hour); err != nil {
			return nil, err
		}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: req}, nil
}

const freezeConfig = `
location: seoul-a
defaults: {interval: 10s, timeout: 9s, down_after: 2, up_after: 1}
services:
  - name: svc
    flows:
      - name: sync
        steps:
          - name: get
            function: get
            request: {url: "http://127.0.0.1:1/"}
`

// TestFrozenServerMTTDToRunEnd: the daemon's pipeline in virtual time
// (Replay) against a server frozen for two minutes, with interval 10s,
// timeout 9s and down_after 2: every run in it waits to its 9 s timeout, so
// the window the daemon opens is known when its confirming run ends, 9 s
// after that run's start, and the report built from the stored windows
// counts MTTD to there, as with --recompute. Before, it counted to the
// confirming run's start (the window's `confirmed`, which stays that): 9 s
// short, half the time the outage went unnoticed.
func TestFrozenServerMTTDToRunEnd(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("freeze.yaml", []byte(freezeConfig), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	to := from.Add(10 * time.Minute)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "results.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tr := freezeTransport{from.Add(3 * time.Minute), from.Add(5 * time.Minute)}
	if err := Replay(ctx, cfg, Deps{Store: st, Transport: tr}, from, to, nil); err != nil {
		t.Fatal(err)
	}
	ws, err := st.Windows(ctx, store.Query{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var down *state.Window
	for i := range ws {
		if ws[i].Kind == state.KindDown && ws[i].Function == "" {
			if down != nil {
				t.Fatalf("two down windows: %+v and %+v", *down, ws[i])
			}
			down = &ws[i]
		}
	}
	if down == nil {
		t.Fatalf("no down window in %+v", ws)
	}
	runs, err := st.Runs(ctx, store.Query{From: down.Confirmed, To: down.Confirmed.Add(time.Nanosecond)})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%d runs at the confirmation %s (%v), want 1", len(runs), down.Confirmed, err)
	}
	if runs[0].Duration < 9*time.Second {
		t.Fatalf("the confirming run lasted %s, want its 9 s timeout", runs[0].Duration)
	}
	want := down.Confirmed.Add(runs[0].Duration).Sub(down.Start).Seconds()
	for _, recompute := range []bool{false, true} {
		rep, err := report.Build(ctx, report.Input{Config: cfg, Store: st, From: from, To: to, Timelines: []*config.Timeline{}, Recompute: recompute})
		if err != nil {
			t.Fatal(err)
		}
		svc := rep.Services[0]
		if len(svc.Windows) == 0 || !svc.Windows[0].Confirmed.Equal(down.Confirmed) {
			t.Errorf("recompute %v: windows %+v, want one confirmed at %s (the confirming run's start)", recompute, svc.Windows, down.Confirmed)
		}
		if svc.MTTDSeconds == nil || math.Abs(*svc.MTTDSeconds-want) > 1e-6 {
			got := math.NaN()
			if svc.MTTDSeconds != nil {
				got = *svc.MTTDSeconds
			}
			t.Errorf("recompute %v: MTTD %.3f s, want %.3f s: from %s to the end of the run confirmed at %s (%.3f s to its start)", recompute, got, want,
				down.Start.Format("15:04:05.000"), down.Confirmed.Format("15:04:05.000"), down.Confirmed.Sub(down.Start).Seconds())
		}
	}
}
