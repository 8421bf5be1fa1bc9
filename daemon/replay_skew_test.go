package daemon

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// skewTransport answers every request at once, except the slow flow's
// first one, which it holds (in real time, as a descheduled goroutine)
// until the fast flow has made `ahead` requests or `most` has passed. It
// records how far ahead, in virtual time, the fast flow got meanwhile.
type skewTransport struct {
	ahead int
	most  time.Duration

	mu       sync.Mutex
	held     bool
	heldAt   time.Time // the held request's virtual time
	holding  bool
	fast     int
	release  chan struct{}
	maxAhead time.Duration // of a fast request while the slow one was held
}

func (s *skewTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	now := clock.FromContext(req.Context(), clock.Real{}).Now()
	s.mu.Lock()
	if strings.HasSuffix(req.URL.Path, "/slow") && !s.held {
		s.held, s.holding, s.heldAt = true, true, now
		s.mu.Unlock()
		select {
		case <-s.release:
		case <-time.After(s.most):
		}
		s.mu.Lock()
		s.holding = false
	} else if strings.HasSuffix(req.URL.Path, "/fast") && s.holding {
		s.maxAhead = max(s.maxAhead, now.Sub(s.heldAt))
		if s.fast++; s.fast == s.ahead {
			close(s.release)
		}
	}
	s.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

const skewConfig = `
location: seoul-a
defaults: {interval: 60s, timeout: 20s, confirm_every: 0s}
services:
  - name: svc
    flows:
      - name: slow
        steps:
          - {name: get, function: get, request: {url: "http://127.0.0.1:1/slow"}}
      - name: fast
        steps:
          - {name: get, function: get, request: {url: "http://127.0.0.1:1/fast"}}
`

// TestReplayBoundsSkewBetweenFlows: a replay runs flows' runs side by side
// and each on its own virtual clock, while the target (the demo platform)
// is shared: flows that log in as one user share its tokens and inbox. A
// run held up in real time must not let the other flows run hours ahead in
// virtual time meanwhile: their later logins evicted the held run's token
// (the platform keeps 100 a user), so a flow sharing a user with others
// failed a run in one replay and not in the next, and report.json and
// windows.json differed between two replays of one config. Other flows may
// start at most the held run's interval (here longer than twice its
// timeout) after it; a run's jitter may add to that.
func TestReplayBoundsSkewBetweenFlows(t *testing.T) {
	cfg, err := config.Parse("skew.yaml", []byte(skewConfig), config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := &skewTransport{ahead: 100, most: time.Second, release: make(chan struct{})}
	if err := Replay(context.Background(), cfg, Deps{Store: &fakeStore{}, Transport: tr}, from, from.Add(6*time.Hour), nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("held at %s; fast ran %d requests, up to %s ahead", tr.heldAt, tr.fast, tr.maxAhead)
	if tr.maxAhead > 2*time.Minute {
		t.Errorf("while one flow's run was held, another ran %s ahead of it in virtual time (%d runs), want at most its interval (60s) and the jitter", tr.maxAhead, tr.fast)
	}
}
