package config

import (
	"strconv"
	"strings"
	"testing"
)

// TestWebhooksWildcardWithoutPublicURL: a callback listener on a wildcard
// address (0.0.0.0, ::, no host) without public_url tells the targets to
// call http://0.0.0.0:PORT/..., which no other host can reach: check and
// run warn, on the webhooks block's line; a loopback listener, a public_url
// or a listener that never runs (no block, no flow needing it) do not.
func TestWebhooksWildcardWithoutPublicURL(t *testing.T) {
	const svc = "services: [{name: s}]\n"
	tests := []struct {
		name, config string
		warn         string // "" for none
	}{
		{"0.0.0.0", svc + "webhooks: {listen: \"0.0.0.0:9116\"}\n", `2: webhooks.public_url: not set, so runs give targets http://0.0.0.0:9116/webhooks/...`},
		{"no host", svc + "webhooks:\n  listen: \":9116\"\n", `3: webhooks.public_url: not set, so runs give targets http://:9116/webhooks/...`},
		{"::", svc + "webhooks: {listen: \"[::]:9116\"}\n", `2: webhooks.public_url: not set`},
		{"with public_url", svc + "webhooks: {listen: \"0.0.0.0:9116\", public_url: \"https://probe.example/hooks\"}\n", ""},
		{"loopback", svc + "webhooks: {listen: \"127.0.0.1:9116\"}\n", ""},
		{"no block", svc, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("c.yaml", []byte(tc.config), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range cfg.Warnings("sqlite") {
				got = append(got, strings.Join([]string{strconv.Itoa(w.Line), w.Key, w.Msg}, ": "))
			}
			switch {
			case tc.warn == "" && len(got) > 0:
				t.Errorf("warnings %q, want none", got)
			case tc.warn != "" && (len(got) != 1 || !strings.HasPrefix(got[0], tc.warn)):
				t.Errorf("warnings %q, want one starting %q", got, tc.warn)
			}
		})
	}
}
