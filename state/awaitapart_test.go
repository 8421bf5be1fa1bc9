package state

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
)

// An await's message that stopped coming at all (a stalled sync, a hub
// whose fan-out stopped) and one that came changed (the room turned
// encrypted) are two faults an on-call tells apart: two causes, whatever
// else the stream carried in the second.
func TestAwaitNothingCameApartFromCameWrong(t *testing.T) {
	const (
		typing    = `{"type":"m.typing","room_id":"!mine:x"}`
		encrypted = `{"type":"m.room.encrypted","room_id":"!mine:x","content":{"ciphertext":"c-%d"}}`
	)
	for _, tc := range []struct {
		name string
		runs [][]string // each run's messages, in order
		want string
	}{
		{"nothing, then encrypted alone", [][]string{nil, nil, nil, {encrypted}, {encrypted}, {encrypted}}, "receive@m1-m4,receive@m4-m7"},
		{"nothing, then encrypted among typing", [][]string{nil, nil, {encrypted}, {typing, encrypted}, {encrypted, typing, typing}}, "receive@m1-m3,receive@m3-m6"},
		{"encrypted, alone or among typing: one", [][]string{{encrypted}, {typing, encrypted}, {encrypted}, {typing, typing, encrypted}}, "receive@m1-m5"},
		{"nothing: one", [][]string{nil, nil, nil}, "receive@m1-m4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := websocket.Accept(w, r, nil)
				if err != nil {
					return
				}
				k := int(n.Add(1)) - 1
				if k < len(tc.runs) {
					for _, m := range tc.runs[k] {
						if strings.Contains(m, "%d") {
							m = fmt.Sprintf(m, 1000+k*37)
						}
						_ = c.Write(r.Context(), websocket.MessageText, []byte(m))
					}
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
            expect: {jsonpath: {"$.type": m.room.message, "$.content.body": "seoul-${run.id}"}}
`, strings.TrimPrefix(srv.URL, "http")), len(tc.runs))
			if got != tc.want {
				t.Errorf("causes %s, want %s (errors %q)", got, tc.want, errs)
			}
		})
	}
}
