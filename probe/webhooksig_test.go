package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Of two callbacks that fail the signature check, one signed with the
// wrong key (the provider rotated its secret) came closer than one with no
// signature at all (a scanner, a health check, another integration posting
// to the public URL) and one whose signature is not hex: the await says
// the wrongly signed one's reason whatever the order, where both were -1
// and the later said it, one fault flipping the window's cause between
// "no X-Signature header" and "signature does not match" by arrival order.
func TestWebhookAwaitClosestSignature(t *testing.T) {
	const want = `settled: timeout after 2s: none of 2-9 callbacks matched; closest: X-Signature signature does not match the body (got "{\"type\":\"transfer.settled\",\"id\":\"tr-1\"}")`
	for _, order := range [][]string{{"badsig", "nosig", "nothex"}, {"nothex", "badsig", "nosig"}, {"nosig", "badsig", "nothex"}} {
		t.Run(strings.Join(order, ","), func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("POST /pay", func(w http.ResponseWriter, r *http.Request) {
				var in struct{ Callback string }
				_ = json.NewDecoder(r.Body).Decode(&in)
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, `{"id":"tr-1"}`)
				go func() { // in order, one after the other
					for _, c := range order {
						body := `{"type":"transfer.settled","id":"tr-1"}`
						req, _ := http.NewRequest(http.MethodPost, in.Callback, strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						switch c {
						case "badsig":
							req.Header.Set("X-Signature", "sha256="+strings.Repeat("0", 64))
						case "nothex":
							req.Header.Set("X-Signature", "sha256=zz")
						}
						if resp, err := http.DefaultClient.Do(req); err == nil {
							resp.Body.Close()
						}
					}
				}()
			})
			target := httptest.NewServer(mux)
			t.Cleanup(target.Close)
			r, _, _, f := webhookRunner(t, payFlow(target.URL))
			run := r.Run(context.Background(), f)
			wantStep(t, run.Steps[0], StatusOK, "")
			wantStep(t, run.Steps[1], StatusFailed, want)
		})
	}
}
