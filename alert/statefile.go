package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/slaprobe/slaprobe/state"
)

// stateFile is the JSON kept at StatePath.
type stateFile struct {
	Version int          `json:"version"`
	Alerts  []stateAlert `json:"alerts"`
	// LateWait: the counted windows pageLate left for a later verdict as
	// their end may move (Notifier.lateWait), judged when it settles after
	// a restart too (they ended before it). Added in version 1: a file
	// without it has none.
	LateWait []stateLateWait `json:"late_wait,omitempty"`
}

// stateLateWait is one of Notifier.lateWait: its key, start and end.
type stateLateWait struct {
	Service  string     `json:"service"`
	Flow     string     `json:"flow"`
	Function string     `json:"function,omitempty"`
	Kind     state.Kind `json:"kind"`
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end"`
}

type stateAlert struct {
	Alert
	Pending []string             `json:"pending,omitempty"` // target ids
	SentAt  map[string]time.Time `json:"sent_at,omitempty"`
	DoneAt  time.Time            `json:"done_at,omitzero"`
	// Held: detected during planned maintenance and not sent yet.
	Held bool `json:"held,omitempty"`
	// LateUntil: a late page sent firing until then (entry.lateUntil).
	LateUntil time.Time `json:"late_until,omitzero"`
}

func (n *Notifier) save() error {
	if n.o.StatePath == "" {
		n.mu.Lock()
		n.dirty = false
		n.mu.Unlock()
		return nil
	}
	n.mu.Lock()
	sf := stateFile{Version: stateFileVersion, Alerts: []stateAlert{}}
	for _, e := range n.sorted() {
		sa := stateAlert{Alert: cloneAlert(e.Alert), SentAt: map[string]time.Time{}, DoneAt: e.doneAt, Held: e.held, LateUntil: e.lateUntil}
		for id, p := range e.pending {
			if p {
				sa.Pending = append(sa.Pending, id)
			}
		}
		sort.Strings(sa.Pending)
		for id, at := range e.sentAt {
			sa.SentAt[id] = at
		}
		sf.Alerts = append(sf.Alerts, sa)
	}
	for id, end := range n.lateWait {
		sf.LateWait = append(sf.LateWait, stateLateWait{Service: id.k.service, Flow: id.k.flow, Function: id.k.function,
			Kind: id.k.kind, Start: time.Unix(0, id.start).UTC(), End: end.UTC()})
	}
	sort.Slice(sf.LateWait, func(i, j int) bool {
		x, y := sf.LateWait[i], sf.LateWait[j]
		if !x.Start.Equal(y.Start) {
			return x.Start.Before(y.Start)
		}
		return fmt.Sprint(x.Service, "\x00", x.Flow, "\x00", x.Function, "\x00", x.Kind) < fmt.Sprint(y.Service, "\x00", y.Flow, "\x00", y.Function, "\x00", y.Kind)
	})
	n.dirty = false
	n.mu.Unlock()

	data, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(n.o.StatePath, append(data, '\n')); err != nil {
		n.mu.Lock()
		n.dirty = true
		n.mu.Unlock()
		return err
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("alert: save state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("alert: save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("alert: save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("alert: save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("alert: save state: %w", err)
	}
	ok = true
	return nil
}

// LegacyStateFile is the name of the state file of versions that kept one
// per directory, whatever the database (see StatePath).
const LegacyStateFile = ".slaprobe-alerts.json"

// StatePath is the alert state file of the SQLite database db: beside it
// and named after it (".results.db.slaprobe-alerts.json"), so that probers
// whose databases share a directory keep their alerts apart. The one file
// per directory of earlier versions made a prober restore another's firing
// alerts, find no open window for them in its own store and resolve them.
func StatePath(db string) string {
	return filepath.Join(filepath.Dir(db), "."+filepath.Base(db)+".slaprobe-alerts.json")
}

// load restores the alerts of StatePath, or, while it does not exist yet,
// those of LegacyStatePath that carry this prober's location (others'
// probers may share that file: their alerts are theirs to resolve).
func (n *Notifier) load() error {
	if n.o.StatePath == "" {
		return nil
	}
	path, legacy := n.o.StatePath, false
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) && n.o.LegacyStatePath != "" {
		path, legacy = n.o.LegacyStatePath, true
		f, err = os.Open(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert: state file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return fmt.Errorf("alert: state file %s: %w", path, err)
	}
	if len(data) > maxStateBytes {
		return fmt.Errorf("alert: state file %s: larger than %d bytes", path, maxStateBytes)
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return fmt.Errorf("alert: state file %s: %w (delete it to start over)", path, err)
	}
	if sf.Version != stateFileVersion {
		return fmt.Errorf("alert: state file %s: version %d, want %d", path, sf.Version, stateFileVersion)
	}
	known := map[string]bool{}
	for _, t := range n.targets {
		known[t.id] = true
	}
	for _, sa := range sf.Alerts {
		if len(sa.Labels) == 0 || sa.StartsAt.IsZero() {
			return fmt.Errorf("alert: state file %s: an alert without labels or startsAt", path)
		}
		if legacy && n.o.Location != "" && sa.Labels["location"] != n.o.Location {
			continue
		}
		e := &entry{Alert: sa.Alert, pending: map[string]bool{}, sentAt: map[string]time.Time{}, doneAt: sa.DoneAt, held: sa.Held && !sa.Resolved()}
		if sa.Resolved() {
			e.lateUntil = sa.LateUntil
		}
		if e.Annotations == nil {
			e.Annotations = map[string]string{}
		}
		e.GeneratorURL = n.o.GeneratorURL
		e.fp = fingerprint(e.Labels)
		for _, id := range sa.Pending {
			if known[id] {
				e.pending[id] = true
			}
		}
		for id, at := range sa.SentAt {
			if known[id] {
				e.sentAt[id] = at
			}
		}
		if e.Resolved() && len(e.pending) == 0 && e.doneAt.IsZero() && !e.lateFiring() {
			e.doneAt = n.o.Clock.Now()
		}
		n.entries[e.id()] = e
	}
	for _, lw := range sf.LateWait {
		if n.lateWait == nil {
			n.lateWait = map[lateID]time.Time{}
		}
		n.lateWait[lateID{ownKey{lw.Service, lw.Flow, lw.Function, lw.Kind}, lw.Start.UnixNano()}] = lw.End
	}
	return nil
}
