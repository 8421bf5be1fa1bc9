package store

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// ErrRejected marks an error that retrying cannot fix: the store refuses the
// data itself (a run with an unknown step status, an event without a start,
// a value the database will not take). A Writer sets such items aside
// (quarantine) instead of retrying them. Test with errors.Is.
var ErrRejected = errors.New("store: rejected")

// ErrSchemaNewer is returned by every write once another, newer slaprobe has
// migrated the database past the version this one knows: writing on would
// put rows where the newer schema does not expect them. Upgrade this prober
// (see the README's upgrade order). The data is not at fault: a Writer keeps
// it and retries.
var ErrSchemaNewer = errors.New("store: the database schema is newer than this slaprobe: upgrade it")

// ErrNoStore is returned by a read-only open (Options.ReadOnly) of a
// database that holds no slaprobe store.
var ErrNoStore = errors.New("store: no slaprobe store in this database")

// ErrFileMoved is returned by every write to a SQLite store whose database
// file was removed or replaced (or renamed) since it was opened: SQLite in
// WAL mode would go on writing into the open file, which no one opens again
// (the next start makes a new, empty one), so every result since would be
// lost without a word. The data is not at fault: a Writer keeps it and
// retries, and a file put back in place (renamed back) is written again.
var ErrFileMoved = errors.New("the database file was removed or replaced while open")

// ErrNotSQLite is returned by OpenSQLite for a file that is not a SQLite
// database (a config given as --db): bad input, not a database failure.
var ErrNotSQLite = errors.New("not a SQLite database")

// rejected wraps a database error that says the data itself is refused.
type rejected struct{ err error }

func (r rejected) Error() string        { return r.err.Error() }
func (r rejected) Unwrap() error        { return r.err }
func (r rejected) Is(target error) bool { return target == ErrRejected }

// ValidateRun returns why the store would refuse r (an error wrapping
// ErrRejected), or nil. AppendRuns refuses a whole batch for one such run;
// Writer.Submit checks each run first.
func ValidateRun(r *probe.Run) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: run %q of flow %q: %s", ErrRejected, r.ID, r.Flow, fmt.Sprintf(format, args...))
	}
	switch {
	case r.Flow == "":
		return fmt.Errorf("%w: run %q has no flow", ErrRejected, r.ID)
	case r.Location == "":
		return bad("no location")
	case !storable(r.Start):
		return bad("starts at %s, outside 1970..2262", r.Start.Format(time.RFC3339))
	case r.Duration < 0:
		return bad("a negative duration")
	}
	for _, s := range []string{r.ID, r.Flow, r.Service, r.Location} {
		if !cleanName(s) {
			return bad("a name or id %q that is not valid UTF-8 or holds a NUL byte", s)
		}
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		if _, ok := statusCodes[s.Status]; !ok {
			return bad("step %q has unknown status %q", s.Step, s.Status)
		}
		if !cleanName(s.Step) || !cleanName(s.Function) {
			return bad("step %q (function %q) is not valid UTF-8 or holds a NUL byte", s.Step, s.Function)
		}
	}
	return nil
}

// ValidateEvent returns why the store would refuse e (an error wrapping
// ErrRejected), or nil. Its free text (cause step, error) is never a reason:
// it is stored as valid UTF-8 without NUL bytes.
func ValidateEvent(e *state.Event) error {
	w := &e.Window
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s event of flow %q at %q: %s", ErrRejected, e.Op, w.Flow, w.Location, fmt.Sprintf(format, args...))
	}
	if e.Op != state.OpOpen && e.Op != state.OpClose && e.Op != state.OpCause {
		return fmt.Errorf("%w: unknown op %q", ErrRejected, e.Op)
	}
	switch w.Kind {
	case state.KindDown, state.KindDegraded, state.KindUnknown:
	default:
		return fmt.Errorf("%w: unknown window kind %q", ErrRejected, w.Kind)
	}
	if w.Flow == "" || w.Location == "" {
		return bad("window has no flow or location")
	}
	for _, s := range []string{w.Service, w.Flow, w.Function, w.Location} {
		if !cleanName(s) {
			return bad("name %q is not valid UTF-8 or holds a NUL byte", s)
		}
	}
	for _, t := range []time.Time{w.Start, w.End, w.Confirmed, w.Known, w.LastBefore, w.LastIn, w.FirstInEnd, w.FirstAfterEnd} {
		if !t.IsZero() && !storable(t) {
			return bad("time %s outside 1970..2262", t.Format(time.RFC3339))
		}
	}
	for _, cs := range w.Causes {
		if !storable(cs.From) {
			return bad("cause time %s outside 1970..2262", cs.From.Format(time.RFC3339))
		}
	}
	if w.Start.IsZero() {
		return bad("window has no start")
	}
	if e.Op == state.OpCause && (len(w.Causes) == 0 || w.Kind == state.KindUnknown) {
		return bad("cause event without a cause")
	}
	if e.Op == state.OpClose {
		if w.End.IsZero() {
			return bad("close has no end")
		}
		if w.End.Before(w.Start) {
			return bad("window ends (%s) before it starts (%s)", w.End.Format(time.RFC3339Nano), w.Start.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// cleanName reports whether s can be stored as a name in both databases
// (PostgreSQL's TEXT takes neither invalid UTF-8 nor NUL).
func cleanName(s string) bool { return utf8.ValidString(s) && !strings.Contains(s, "\x00") }

// cleanText makes free text storable in both databases: invalid UTF-8
// becomes U+FFFD and NUL bytes are dropped. (An error message quoting a
// hostile target's answer can hold either.)
func cleanText(s string) string {
	if cleanName(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// classify marks err as rejected when the database says the data itself is
// refused (a constraint, a value out of range, ...), so that a Writer does
// not retry it forever.
func (c *core) classify(err error) error {
	if err == nil || errors.Is(err, ErrRejected) || c.d.refused == nil || !c.d.refused(err) {
		return err
	}
	return rejected{err}
}
