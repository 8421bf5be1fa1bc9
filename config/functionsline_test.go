package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWarningsUnprobedFunctionsAtTheirLine: the warning of functions no
// flow probes names the line functions is written on, as the key it gives
// (incidents[0].functions) says, and as the warning of a service the config
// lacks names service's line: in a block-style incident it named the
// incident's first line (its "- id:"), two lines above, for check of a
// config's timelines and demo of its --timeline files alike.
func TestWarningsUnprobedFunctionsAtTheirLine(t *testing.T) {
	files := map[string]string{
		"c.yaml": "services:\n  - name: maps\n    timelines: [t.yaml]\n    flows:\n      - name: f\n        steps:\n          - {name: a, function: search, request: {url: \"http://127.0.0.1:1/\"}}\n",
		"t.yaml": "incidents:\n" +
			"  - id: never\n" +
			"    service: maps\n" +
			"    functions:\n" +
			"      - tile\n" +
			"    start: 2026-11-01T02:00:00Z\n",
		"u.yaml": "incidents:\n" +
			"  - id: other\n" +
			"    title: not named by the config\n" +
			"    service: maps\n" +
			"    functions: [route]\n" +
			"    start: 2026-11-01T02:00:00Z\n",
	}
	read := func(name string) ([]byte, error) { return []byte(files[name]), nil }
	cfg, err := Parse("c.yaml", []byte(files["c.yaml"]), Options{ReadFile: read})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range cfg.Warnings("sqlite") {
		got = append(got, fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Key))
	}
	tl, err := ParseTimeline("u.yaml", []byte(files["u.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range cfg.TimelineWarnings(tl) {
		got = append(got, fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Key))
	}
	want := []string{"t.yaml:4: incidents[0].functions", "u.yaml:5: incidents[0].functions"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings at\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
