package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "time/tzdata" // tests must not depend on the host's zoneinfo
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testEnv is the environment the golden configs see. Its values are
// secrets: none may appear in any error text.
var testEnv = map[string]string{
	"SECRET_TOKEN": "s3cr3t-value",
	"PG_PASSWORD":  "pg-pa55word",
}

// secretValues are every secret the golden inputs can reach.
var secretValues = []string{"s3cr3t-value", "pg-pa55word", "hunter2-from-file"}

func testOptions() Options {
	return Options{
		LookupEnv: func(k string) (string, bool) { v, ok := testEnv[k]; return v, ok },
		ReadFile:  os.ReadFile,
	}
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run Golden -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("error text differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

// TestGoldenConfigErrors parses every testdata/errors/*.yaml, which must
// fail, and compares the full error text with the .golden file beside it.
func TestGoldenConfigErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(file, testOptions())
			if err == nil {
				t.Fatalf("Load succeeded, want errors (config %+v)", cfg)
			}
			checkErrors(t, err)
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// TestGoldenTimelineErrors does the same for testdata/timeline-errors.
func TestGoldenTimelineErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/timeline-errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			tl, err := LoadTimeline(file, Options{})
			if err == nil {
				t.Fatalf("LoadTimeline succeeded, want errors (timeline %+v)", tl)
			}
			checkErrors(t, err)
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", err.Error()+"\n")
		})
	}
}

// checkErrors asserts the shape every load error must have: Errors, each
// with a file, sorted by line within a file, and no secret in the text.
func checkErrors(t *testing.T, err error) {
	t.Helper()
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error is %T, want non-empty Errors", err)
	}
	last := map[string]int{}
	for _, e := range es {
		if e.File == "" || e.Msg == "" {
			t.Errorf("error without file or message: %#v", e)
		}
		if e.Line < last[e.File] {
			t.Errorf("errors not sorted by line: %q after line %d", e.Error(), last[e.File])
		}
		last[e.File] = e.Line
	}
	for _, s := range secretValues {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text holds the secret %q:\n%s", s, err)
		}
	}
}
