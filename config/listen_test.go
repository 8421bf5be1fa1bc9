package config

import (
	"strings"
	"testing"
)

// TestListenersApart: a config whose listeners share an address is refused
// by check (the daemon would fail to bind the second one at start), naming
// the key and line of the one that repeats it; listeners apart, port 0 and
// a callback listener that never runs are accepted.
func TestListenersApart(t *testing.T) {
	const flows = `services:
  - name: maps
    flows:
      - name: search
        steps:
          - name: search
            function: search
            request: {url: "http://127.0.0.1:18080/maps/search"}
`
	const callback = `services:
  - name: pay
    flows:
      - name: pay
        steps:
          - name: pay
            function: send
            request: {url: "http://127.0.0.1:18080/p?cb=${webhook.url}"}
`
	tests := []struct {
		name, config string
		want         []string // substrings of the error, nil for none
	}{
		{"status on listen", "listen: 127.0.0.1:9200\nstatus: {listen: 127.0.0.1:9200}\n" + flows,
			[]string{`c.yaml:2: status.listen: "127.0.0.1:9200" is also listen's address`}},
		{"webhooks block on listen", "listen: 127.0.0.1:9200\nwebhooks: {listen: 127.0.0.1:9200}\n" + flows,
			[]string{`c.yaml:2: webhooks.listen: "127.0.0.1:9200" is also listen's address`}},
		{"wildcard takes the port", "listen: 0.0.0.0:9200\nstatus:\n  listen: 127.0.0.1:9200\n" + flows,
			[]string{`c.yaml:3: status.listen: "127.0.0.1:9200" is also listen's address ("0.0.0.0:9200")`}},
		{"listen on the default callback port of a flow that needs it", "listen: 127.0.0.1:9116\n" + callback,
			[]string{`c.yaml:1: listen: "127.0.0.1:9116" is also webhooks.listen's address`}},
		{"listen on the callback port, no callback listener", "listen: 127.0.0.1:9116\n" + flows, nil},
		{"apart", "listen: 127.0.0.1:9200\nstatus: {listen: 0.0.0.0:9201}\nwebhooks: {listen: 127.0.0.1:9202}\n" + flows, nil},
		{"other hosts", "listen: 127.0.0.1:9200\nstatus: {listen: 127.0.0.2:9200}\n" + flows, nil},
		{"port 0", "listen: 127.0.0.1:0\nstatus: {listen: 127.0.0.1:0}\nwebhooks: {listen: \"127.0.0.1:0\"}\n" + flows, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.config), Options{})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}
