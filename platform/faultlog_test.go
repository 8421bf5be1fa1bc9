package platform

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
)

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestFaultAddedLogSaysUntilRemoved: a live fault without a duration (until
// it is removed) and for every function is logged as such. Before, `POST
// /_admin/faults` with {"service":"messaging","functions":["receive"],
// "mode":"drop"} logged end=0001-01-01T00:00:00.000Z, a date two thousand
// years past, and one without functions logged functions=[].
func TestFaultAddedLogSaysUntilRemoved(t *testing.T) {
	var buf logBuffer
	p := New(Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if _, err := p.AddFault(Fault{Service: "messaging", Mode: "drop"}); err != nil {
		t.Fatal(err)
	}
	out := buf.b.String()
	for _, want := range []string{"functions=all", `start="since ever"`, `end="until removed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0001-01-01") {
		t.Errorf("the log gives the zero time as a date:\n%s", out)
	}
}
