package probe

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A session_end step cut short by its caller's deadline (the daemon's stop
// gives them 10 s) says the caller's reason and where it hung, not Go's
// words: Dendrite v0.13.8 frozen (SIGSTOP) and `slaprobe run` stopped with
// examples/matrix.yaml's logout in hand logged `error="logout: canceled:
// context deadline exceeded"`. A plain cancel keeps its short text.
func TestSessionEndCutByCallerSaysWhy(t *testing.T) {
	at, srv := newAuthTarget(t)
	hang := hangingLogout(t, at, srv)
	f := sessionEndFlow(srv.URL)
	f.Timeout = 5 * time.Second
	cfg := testConfig(f)
	r, err := NewRunner(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.CloseIdle)
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want string
	}{
		{"the stop's deadline, with its reason",
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeoutCause(context.Background(), 200*time.Millisecond, errors.New("the stop's 200ms for session_end steps ran out"))
			},
			"logout: canceled: the stop's 200ms for session_end steps ran out waiting for response headers from " + addr},
		{"a deadline without a reason",
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 200*time.Millisecond)
			},
			"logout: canceled: context deadline exceeded waiting for response headers from " + addr},
		{"a cancel",
			func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(200*time.Millisecond, cancel)
				return ctx, cancel
			},
			"logout: canceled: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hang.Store(false)
			if run := r.Run(context.Background(), &cfg.Services[0].Flows[0]); !run.OK() {
				t.Fatalf("run: %s", stepNames(run.Steps))
			}
			hang.Store(true)
			ctx, cancel := tc.ctx()
			defer cancel()
			ended := r.EndSessions(ctx)
			if len(ended) != 1 || len(ended[0].Teardown) != 1 {
				t.Fatalf("EndSessions: %+v", ended)
			}
			wantStep(t, ended[0].Teardown[0], StatusFailed, tc.want)
		})
	}
}
