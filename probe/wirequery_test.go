package probe

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestRawQuerySecretRedacted: a secret put raw into a URL's query
// ("?pw=${env:PW}") goes on the wire with only the bytes a query cannot
// carry percent-encoded ('"' as %22, '!' kept), and a target that echoes
// its query back showed it in the step's error, and so in the store,
// /api/v1/status and alerts: the redactor knew url.QueryEscape's form
// (%21%22), not the one the probe itself sends (FuzzSecretsNeverLeak found
// Zq7K!").
func TestRawQuerySecretRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"query": r.URL.RawQuery})
	}))
	t.Cleanup(srv.Close)
	for _, secret := range []string{`Zq7K!"`, `Zq7K<tök€n>`, "Zq7K a\"b!c", `Zq7K$'()*,;`} {
		t.Run(secret, func(t *testing.T) {
			f := config.Flow{Name: "flow", Service: "svc", Timeout: 5 * time.Second, Steps: []config.Step{{
				Name: "s", Function: "f", Request: config.Request{URL: srv.URL + "/echo?pw=${env:PW}"},
				Expect: config.Expect{JSONPath: []config.PathMatch{{Path: "$.query", Matcher: eq("nope")}}},
			}}}
			cfg := &config.Config{Location: "seoul-a", Secrets: map[string]string{"env:PW": secret},
				Services: []config.Service{{Name: "svc", Flows: []config.Flow{f}}}}
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.CloseIdle)
			run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
			e := run.Steps[0].Error
			if !strings.Contains(e, `does not equal "nope"`) || strings.Contains(e, "Zq7K") {
				t.Errorf("error %q: want the failed check, and no form of the secret", e)
			}
		})
	}
}
