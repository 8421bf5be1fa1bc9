package config

import (
	"fmt"
	"testing"
)

// warningLines parses src as c.yaml and returns its warnings (for a SQLite
// store) as "LINE: KEY: MESSAGE", in order.
func warningLines(t *testing.T, src string) []string {
	t.Helper()
	cfg, err := Parse("c.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%d: %s: %s", w.Line, w.Key, w.Msg))
	}
	return got
}
