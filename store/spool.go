package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/state"
)

// The spool keeps, across a stop, what a Writer could not commit before it
// was closed (the database was not taking writes): the runs and state events
// it held, in the order it would have committed them, so that the next start
// stores them before anything else (see Writer.Uncommitted).
//
// The file is JSON lines: a header, one line per item, and a trailer that
// says how many items the file holds (a file without it was cut short):
//
//	{"slaprobe_spool":1,"location":"seoul-a","written":"2026-12-04T18:00:00Z"}
//	{"run":{"ID":"...","Flow":"...",...}}
//	{"event":{"Op":"open","Window":{...}}}
//	{"end":{"runs":1,"events":1,"cut_runs":0,"cut_events":0}}
//
// A run holds what the store keeps of it (its steps' errors are redacted
// by the runner before a run leaves it): not its teardown steps, nor the
// certificates' expiry.

// SpoolVersion is the format WriteSpool writes; ReadSpool refuses a newer
// one (ErrSpoolNewer). Format 2 (schema version 15) gives each run the
// interval it had (probe.Run.Interval), a field format 1's readers refuse
// as damage, which left a held file's runs unread after a downgrade: they
// refuse format 2 as newer, and move the file aside, keeping its runs for
// the upgrade. This slaprobe reads both.
const SpoolVersion = 2

// MaxSpoolBytes bounds a spool file: about 70,000 runs of three steps (930
// bytes each, measured, half of them failed with an error),
// more than a Writer's buffer at the daemon's size (50,000 runs).
const MaxSpoolBytes = 64 << 20

// ErrSpoolNewer is returned by ReadSpool for a file a newer slaprobe wrote.
var ErrSpoolNewer = errors.New("store: spool written by a newer slaprobe")

// ErrSpoolDamaged is returned by ReadSpool for a file cut short or with a
// line it cannot read; the Spool it returns holds the items before it.
var ErrSpoolDamaged = errors.New("store: spool damaged")

// SpoolItem is one item of a spool: a run or a state event.
type SpoolItem struct {
	Run   *probe.Run   `json:"run,omitempty"`
	Event *state.Event `json:"event,omitempty"`
}

// SpoolCounts are a spool's items, and those a size bound left out.
type SpoolCounts struct {
	Runs      int `json:"runs"`
	Events    int `json:"events"`
	CutRuns   int `json:"cut_runs"`
	CutEvents int `json:"cut_events"`
}

// Spool is a spool file read back.
type Spool struct {
	Location string
	Written  time.Time
	Items    []SpoolItem
	// Counts are from the trailer: what the file was written with,
	// CutRuns and CutEvents what its bound left out then.
	Counts SpoolCounts
	// noLater are the indexes in Items of the events written without
	// FirstInEnd and FirstAfterEnd (by a slaprobe before schema version
	// 12), which ReadSpool fills in (fillFromRuns).
	noLater []int
}

type spoolHeader struct {
	Version  int       `json:"slaprobe_spool"`
	Location string    `json:"location"`
	Written  time.Time `json:"written"`
}

type spoolLine struct {
	SpoolItem
	End *SpoolCounts `json:"end,omitempty"`
}

// WriteSpool writes items to path, replacing it whole (a temporary file in
// the same directory, synced, renamed over it), mode 0600. It writes the
// items in order until the next would take the file past maxBytes (<= 0:
// MaxSpoolBytes): the runs and events from there on are left out, so that
// the file holds what a Writer would have committed up to a point, never a
// part of a run. It returns what it wrote and what it left out.
func WriteSpool(path, location string, written time.Time, items []SpoolItem, maxBytes int64) (SpoolCounts, error) {
	if maxBytes <= 0 {
		maxBytes = MaxSpoolBytes
	}
	var n SpoolCounts
	f, err := os.CreateTemp(filepath.Dir(path), spoolTempPrefix(path)+"*")
	if err != nil {
		return n, fmt.Errorf("store: spool: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (SpoolCounts, error) {
		f.Close()
		os.Remove(tmp)
		return SpoolCounts{}, fmt.Errorf("store: spool %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	line := func(v any) ([]byte, error) {
		b, err := json.Marshal(v)
		return append(b, '\n'), err
	}
	head, err := line(spoolHeader{Version: SpoolVersion, Location: location, Written: written.UTC()})
	if err != nil {
		return fail(err)
	}
	bw.Write(head)
	size := int64(len(head)) + 128 // room for the trailer
	for i := range items {
		it := items[i]
		if it.Run != nil {
			r := *it.Run
			r.Teardown = nil
			r.Steps = make([]probe.StepResult, len(it.Run.Steps))
			copy(r.Steps, it.Run.Steps)
			for j := range r.Steps {
				r.Steps[j].CertExpiry = time.Time{}
			}
			it = SpoolItem{Run: &r}
		}
		b, err := line(it)
		if err != nil {
			return fail(err)
		}
		if size+int64(len(b)) > maxBytes {
			for _, rest := range items[i:] {
				if rest.Run != nil {
					n.CutRuns++
				} else if rest.Event != nil {
					n.CutEvents++
				}
			}
			break
		}
		size += int64(len(b))
		bw.Write(b)
		if it.Run != nil {
			n.Runs++
		} else if it.Event != nil {
			n.Events++
		}
	}
	tail, err := line(spoolLine{End: &n})
	if err != nil {
		return fail(err)
	}
	bw.Write(tail)
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return SpoolCounts{}, fmt.Errorf("store: spool %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return SpoolCounts{}, fmt.Errorf("store: spool %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() //nolint:errcheck // best effort: the rename survives a power loss
		d.Close()
	}
	return n, nil
}

func spoolTempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp" }

// SpoolTemps lists the temporary files WriteSpool left beside the spool at
// path when it was stopped before renaming one over it (the process was
// killed, or the machine lost power, while it wrote the spool), oldest
// first. Each is a spool cut short (ReadSpool: ErrSpoolDamaged, with the
// items it got to), or a whole one that was not yet renamed.
func SpoolTemps(path string) []string {
	dir, prefix := filepath.Dir(path), spoolTempPrefix(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type temp struct {
		path string
		mod  time.Time
	}
	var ts []temp
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		// os.CreateTemp puts a decimal number where the '*' is.
		if !ok || rest == "" || strings.Trim(rest, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		ts = append(ts, temp{filepath.Join(dir, e.Name()), fi.ModTime()})
	}
	slices.SortStableFunc(ts, func(a, b temp) int { return a.mod.Compare(b.mod) })
	out := make([]string, len(ts))
	for i := range ts {
		out[i] = ts[i].path
	}
	return out
}

// SpoolLocation reads the header of the file at path: the location whose
// prober wrote it, and ok false for a file that is not a slaprobe spool.
func SpoolLocation(path string) (location string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadBytes('\n')
	if err != nil {
		return "", false
	}
	var h spoolHeader
	if json.Unmarshal(b, &h) != nil || h.Version == 0 {
		return "", false
	}
	return h.Location, true
}

// ReadSpool reads the spool at path. A file that does not exist is
// os.ErrNotExist. A file a newer slaprobe wrote is ErrSpoolNewer, with no
// items. A file cut short (no trailer, a last line cut in the middle) or
// with a line it cannot read is ErrSpoolDamaged, naming the line, and the
// Spool holds the items before it: complete runs and events, in order, as a
// Writer would have committed them up to there.
//
// A window event without Known (a spool written by a slaprobe before
// schema version 11, stored after the migration filled known_ns in) takes
// it from its confirming run when that run is in the spool too, as the
// migration does from the stored runs; one without FirstInEnd or
// FirstAfterEnd (before schema version 12) takes them from the runs that
// started at its start and end in the same way (see fillFromRuns).
func ReadSpool(path string) (*Spool, error) {
	sp, err := readSpool(path)
	if sp != nil {
		fillFromRuns(sp.Items, sp.noLater)
	}
	return sp, err
}

// fillFromRuns sets, on the open and close events of down and degraded
// windows, what a spool of an older slaprobe did not hold, from the runs
// of the window's key among items (a run's end: its start plus its
// duration), as migrations 11 and 12 do from the stored runs: a Known none
// is set to the end of the run that started at Confirmed (never before
// Confirmed); of the events at noLater (written without the later bounds,
// not those this slaprobe wrote as not known), FirstInEnd is set to the end
// of the run that started at Start, and a close's FirstAfterEnd to the end
// of the run that started at End. Of several runs that started at one
// instant, the latest end, as the migrations take. What has no such run
// keeps none.
func fillFromRuns(items []SpoolItem, noLater []int) {
	type rkey struct {
		service, flow, location string
		start                   int64
	}
	var ends map[rkey]time.Time
	end := func(w *state.Window, at time.Time) (time.Time, bool) {
		if at.IsZero() {
			return time.Time{}, false
		}
		if ends == nil {
			ends = map[rkey]time.Time{}
			for _, it := range items {
				if r := it.Run; r != nil {
					k := rkey{r.Service, r.Flow, r.Location, r.Start.UnixNano()}
					if e := r.Start.Add(max(r.Duration, 0)); e.After(ends[k]) {
						ends[k] = e
					}
				}
			}
		}
		e, ok := ends[rkey{w.Service, w.Flow, w.Location, at.UnixNano()}]
		return e, ok
	}
	for i, it := range items {
		e := it.Event
		if e == nil || e.Op == state.OpCause || e.Window.Kind == state.KindUnknown {
			continue
		}
		w := &e.Window
		if w.Known.IsZero() {
			if t, ok := end(w, w.Confirmed); ok {
				w.Known = t
				if t.Before(w.Confirmed) {
					w.Known = w.Confirmed
				}
			}
		}
		for len(noLater) > 0 && noLater[0] < i { // in order of i
			noLater = noLater[1:]
		}
		if len(noLater) == 0 || noLater[0] != i {
			continue
		}
		if w.FirstInEnd.IsZero() {
			if t, ok := end(w, w.Start); ok {
				w.FirstInEnd = t
			}
		}
		if e.Op == state.OpClose && w.FirstAfterEnd.IsZero() {
			if t, ok := end(w, w.End); ok {
				w.FirstAfterEnd = t
			}
		}
	}
}

func readSpool(path string) (*Spool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	sp := &Spool{}
	damaged := func(line int, format string, args ...any) (*Spool, error) {
		return sp, fmt.Errorf("%w: %s line %d: %s (the %d runs and %d events before it are read)", ErrSpoolDamaged, path, line,
			fmt.Sprintf(format, args...), countRuns(sp.Items), len(sp.Items)-countRuns(sp.Items))
	}
	for n := 1; ; n++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return sp, fmt.Errorf("store: spool %s: %w", path, err)
		}
		if len(b) == 0 && errors.Is(err, io.EOF) {
			if n == 1 {
				return damaged(n, "empty file")
			}
			return damaged(n, "cut short: no end line")
		}
		if errors.Is(err, io.EOF) {
			return damaged(n, "cut short in the middle of a line")
		}
		b = bytes.TrimSpace(b)
		if n == 1 {
			var h spoolHeader
			if err := json.Unmarshal(b, &h); err != nil || h.Version == 0 {
				return damaged(n, "not a slaprobe spool header")
			}
			if h.Version > SpoolVersion {
				return nil, fmt.Errorf("%w: %s is format %d, this slaprobe reads format %d", ErrSpoolNewer, path, h.Version, SpoolVersion)
			}
			sp.Location, sp.Written = h.Location, h.Written
			continue
		}
		var l spoolLine
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return damaged(n, "%v", err)
		}
		switch {
		case l.End != nil:
			if l.Run != nil || l.Event != nil {
				return damaged(n, "an end line that also holds an item")
			}
			runs := countRuns(sp.Items)
			if l.End.Runs != runs || l.End.Events != len(sp.Items)-runs {
				return damaged(n, "the end line counts %d runs and %d events, the file holds %d and %d",
					l.End.Runs, l.End.Events, runs, len(sp.Items)-runs)
			}
			sp.Counts = *l.End
			if _, err := br.Peek(1); err == nil {
				return damaged(n+1, "lines after the end line")
			}
			return sp, nil
		case (l.Run == nil) == (l.Event == nil):
			return damaged(n, "neither a run nor an event")
		}
		// This slaprobe writes every field of a window; an older one did
		// not know these (a key's quotes cannot occur inside a string).
		if l.Event != nil && !bytes.Contains(b, []byte(`"FirstInEnd":`)) {
			sp.noLater = append(sp.noLater, len(sp.Items))
		}
		sp.Items = append(sp.Items, l.SpoolItem)
	}
}

func countRuns(items []SpoolItem) int {
	n := 0
	for i := range items {
		if items[i].Run != nil {
			n++
		}
	}
	return n
}
