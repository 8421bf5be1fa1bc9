package state

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// An await on a mixed stream whose own message never comes: 50 runs, each
// a seeded random mix and order of another room's messages, typing,
// receipts, presence and pings. One fault, one cause?
func TestClosestMixedStreamOneCause(t *testing.T) {
	const runs = 50
	typing := `{"type":"m.typing","room_id":"!mine:x","content":{"user_ids":["@u%d:x"]}}`
	receipt := `{"type":"m.receipt","room_id":"!mine:x","content":{"$e%d":{}}}`
	presence := `{"type":"m.presence","sender":"@u%d:x"}`
	ping := `{}`
	otherRoom := `{"type":"m.room.message","room_id":"!other:x","content":{"body":"m-%d"}}`
	otherLoc := `{"type":"m.room.message","room_id":"!mine:x","content":{"body":"busan-%d"}}`
	tests := []struct {
		name string
		mix  func(r *rand.Rand) []string // the run's messages, before shuffling
	}{
		{"another room's message every run", func(r *rand.Rand) []string {
			m := []string{otherRoom, typing}
			for _, s := range []string{typing, receipt, presence, ping} {
				if r.IntN(2) == 0 {
					m = append(m, s)
				}
			}
			return m
		}},
		{"another room's message in some runs", func(r *rand.Rand) []string {
			m := []string{typing, receipt}
			if r.IntN(2) == 0 {
				m = append(m, otherRoom)
			}
			return m
		}},
		{"another location's message in the room in some runs", func(r *rand.Rand) []string {
			m := []string{otherRoom, typing, presence}
			if r.IntN(2) == 0 {
				m = append(m, otherLoc)
			}
			return m
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(24, 1))
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				k := n.Add(1)
				msgs := tc.mix(rnd)
				rnd.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
				for _, m := range msgs {
					if strings.Contains(m, "%d") {
						m = fmt.Sprintf(m, 1000+k*37)
					}
					_ = c.Write(r.Context(), websocket.MessageText, []byte(m))
				}
				c.Close(websocket.StatusNormalClosure, "")
			}))
			defer srv.Close()
			got, errs := roomsCauses(t, fmt.Sprintf(`
          - {name: subscribe, function: receive, websocket: {url: "ws%s/sync"}}
          - name: wait
            function: receive
            timeout: 2s
            await: {stream: subscribe}
            expect: {jsonpath: {"$.type": m.room.message, "$.room_id": "!mine:x", "$.content.body": "seoul-${run.id}"}}
`, strings.TrimPrefix(srv.URL, "http")), runs)
			if want := fmt.Sprintf("receive@m1-m%d", runs+1); got != want {
				t.Errorf("causes %s, want %s (first errors %q)", got, want, errs[:4])
			}
		})
	}
}
