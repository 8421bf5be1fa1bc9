package daemon

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// phaseEvents records, in order, the heavy phases' beginnings and ends
// (Deps.Heavy), the Reconfigurers' calls and the "config reloaded" line.
type phaseEvents struct {
	mu  sync.Mutex
	evs []string
}

func (p *phaseEvents) add(ev string) {
	p.mu.Lock()
	p.evs = append(p.evs, ev)
	p.mu.Unlock()
}

func (p *phaseEvents) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.evs, " ")
}

func (p *phaseEvents) heavy() func() {
	p.add("begin")
	var once sync.Once
	return func() { once.Do(func() { p.add("end") }) }
}

func (p *phaseEvents) Enabled(context.Context, slog.Level) bool { return true }
func (p *phaseEvents) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *phaseEvents) WithGroup(string) slog.Handler            { return p }
func (p *phaseEvents) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "config reloaded" {
		p.add("logged")
	}
	return nil
}

// TestReloadIsOneHeavyPhase: a SIGHUP reload is one heavy phase
// (Deps.Heavy), from the file's read to after the "config reloaded" line,
// the daemon's turn and the Reconfigurers within it. It was two, the
// parse's and the turn's, each ended before the line: `slaprobe run` ends
// a phase by collecting the heap and returning its free pages
// (debug.FreeOSMemory), and with the collection the Reloader forces after
// the parse that made three full collections of the daemon's heap within
// the reload's timed part (at 50,000 flows ~190 MB live, 0.2-0.5 s each).
// A reload that does not apply ends its phase too.
func TestReloadIsOneHeavyPhase(t *testing.T) {
	iv := 10 * time.Second
	for _, tc := range []struct {
		name string
		load func() (*config.Config, error)
		want string
	}{
		{"applied", func() (*config.Config, error) { return testConfig(iv, "a", "b"), nil }, "begin then logged end"},
		{"unchanged", func() (*config.Config, error) { return testConfig(iv, "a"), nil }, "begin then logged end"},
		{"rejected", func() (*config.Config, error) {
			return config.Parse("t.yaml", []byte(badConfig), config.Options{})
		}, "begin end"},
		{"refused", func() (*config.Config, error) {
			c := testConfig(iv, "a")
			c.Location = "busan-b"
			return c, nil
		}, "begin end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := &phaseEvents{}
			d, _ := newTestDaemon(t, testConfig(iv, "a"), &fakeStore{}, Deps{Heavy: evs.heavy})
			rl := &Reloader{Daemon: d, File: "t.yaml", Logger: slog.New(evs), Load: tc.load,
				Then: []Reconfigurer{ReconfigureFunc(func(*config.Config) { evs.add("then") })}}
			rl.Reload(context.Background()) //nolint:errcheck // the phases are the point
			if got := evs.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
