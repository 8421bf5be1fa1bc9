package publish

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestWebhookSecretsOverlapConfigSecrets: a webhook's own secret (a token
// in its URL) and a config secret that overlap in the receiver's answer are
// masked together. The answer was redacted by the webhook's secrets and
// then by the config's, so neither saw the overlap: with the URL's token
// "abcd1234" and a config secret "4xyz9876", an answer echoing
// "abcd1234xyz9876" was recorded as "***xyz9876", seven bytes of the
// config secret.
func TestWebhookSecretsOverlapConfigSecrets(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad token %sxyz9876", r.URL.Query().Get("token"))
	}))
	defer echo.Close()
	s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
		cfg.Secrets["env:OTHER"] = "4xyz9876"
		cfg.Reports.Webhooks = []config.Webhook{{URL: echo.URL + "/hook?token=abcd1234"}}
	})
	p := s.publisher(t, Options{})
	makeAndDeliver(t, p)
	all := s.everything(t)
	if !strings.Contains(all, "bad token") {
		t.Fatalf("the receiver's answer is not recorded:\n%s", all)
	}
	for _, piece := range []string{"abcd", "xyz9876"} {
		if strings.Contains(all, piece) {
			t.Errorf("%q reached the records or the log:\n%s", piece, all)
		}
	}
}
