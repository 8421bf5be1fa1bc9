package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/slaprobe/slaprobe/store"
)

// spoolChunk is how many spooled runs go to the writer between flushes at
// startup: far below its buffer, and each flush a few seconds at most.
const spoolChunk = 5000

// spoolFlushWait bounds each flush of spooled results at startup: a
// database that takes none of them within it makes Run fail (the spool
// stays for the next start).
const spoolFlushWait = 30 * time.Second

// replaySpool stores, through w, what the store had not taken when the
// process before us stopped (the spool, Deps.SpoolFile), in the order that
// process would have committed it, and then removes the spool. It runs
// before the flows' state is restored from the store, so that their windows,
// streaks and alerts are rebuilt as if that process had stored it: runs
// arriving later could open a second window beside one the spool holds open.
// So a database that does not take them (it was reachable, but refuses
// writes: full, locked, read-only) makes Run fail with the spool kept, as a
// database not reachable at startup does; a run that was stored before such
// a failure (or before a crash) is stored once however often the spool is
// replayed (AppendRuns skips a run id already stored), and a repeated event
// changes no window.
//
// A spool a newer slaprobe wrote, or a damaged one (cut short, a line it
// cannot read), is moved aside (FILE.unreadable-TIME, logged) after what can
// be read of it is stored: the complete runs and events before the damage.
//
// A spool whose writing was cut short (the stop was killed, by systemd's
// SIGKILL after TimeoutStopSec or a second signal, or the power went) is
// the temporary file WriteSpool had not yet renamed (store.SpoolTemps): its
// complete runs and events are stored as well, after the spool's (it was
// written later), and it is removed; a database that does not take them
// starts the daemon without its store (detached.go) with it kept, as for
// the spool.
func (d *Daemon) replaySpool(ctx context.Context, w resultWriter) error {
	if d.spoolFile == "" {
		return nil
	}
	d.foreignSpools()
	d.spoolWritable()
	temps := store.SpoolTemps(d.spoolFile)
	if err := d.replaySpoolFile(ctx, w, d.spoolFile, false); err != nil {
		return err
	}
	for _, tmp := range temps {
		if err := d.replaySpoolFile(ctx, w, tmp, true); err != nil {
			return err
		}
	}
	return nil
}

// foreignSpools warns of the spools of other locations beside this
// prober's: a prober stores only its own, so one left by a location since
// renamed (with PostgreSQL the file is named after the location) would lie
// there unread, its runs lost without a word; probers that share the
// directory each store their own at their next start.
func (d *Daemon) foreignSpools() {
	m, _ := filepath.Glob(filepath.Join(filepath.Dir(d.spoolFile), "*.jsonl"))
	for _, f := range m {
		if f == d.spoolFile {
			continue
		}
		if loc, ok := store.SpoolLocation(f); ok && loc != d.location {
			d.log.Warn("a spool of another location is beside this prober's: only a prober of that location stores it (location renamed? stop this prober and rename the file to its spool to store it here)",
				"file", f, "location", loc, "spool", d.spoolFile)
		}
	}
}

// spoolWritable warns, at start, when the spool's directory cannot be
// written (missing, read-only, not a directory): the stop that needs the
// spool, during a database outage, would lose what it holds, and only that
// stop would say so.
func (d *Daemon) spoolWritable() {
	dir := filepath.Dir(d.spoolFile)
	f, err := os.CreateTemp(dir, ".slaprobe-spool-check-*")
	if err != nil {
		d.log.Warn("the spool's directory cannot be written: a stop while the database is not taking writes would lose the results it holds (fix the directory's permissions, or run from a writable working directory)",
			"spool", d.spoolFile, "err", err)
		return
	}
	f.Close()
	os.Remove(f.Name())
}

// replaySpoolFile stores the spool at path (see replaySpool); cut says it
// is a temporary file a kill left, removed once stored whatever its state.
func (d *Daemon) replaySpoolFile(ctx context.Context, w resultWriter, path string, cut bool) error {
	sp, err := store.ReadSpool(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case errors.Is(err, store.ErrSpoolNewer) && !cut:
		return d.spoolAside(err)
	case errors.Is(err, store.ErrSpoolNewer):
		d.log.Warn("a spool cut short by a kill was written by a newer slaprobe: left as it is, not stored", "file", path, "err", err)
		return nil
	case err != nil && !errors.Is(err, store.ErrSpoolDamaged):
		return fmt.Errorf("daemon: reading the spool of results not stored at the last stop: %w", err)
	}
	damaged := err
	var runs, evs int
	for items := sp.Items; len(items) > 0; {
		n, i := 0, 0
		for ; i < len(items) && n < spoolChunk; i++ {
			if r := items[i].Run; r != nil {
				if !w.Submit(*r) {
					return fmt.Errorf("daemon: storing the spool %s: the store writer's buffer is full", path)
				}
				n++
			} else {
				w.SubmitEvents(*items[i].Event)
			}
		}
		fctx, cancel := context.WithTimeout(ctx, d.spoolWait)
		err := w.Flush(fctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("daemon: stopped while storing the spool %s (kept for the next start): %w", path, err)
		}
		if err != nil {
			return storeError{fmt.Errorf("daemon: the store does not take the %d runs and %d events the last stop left in the spool %s (kept for the next start): %w",
				countSpooledRuns(sp.Items), len(sp.Items)-countSpooledRuns(sp.Items), path, err)}
		}
		runs += n
		evs += i - n
		items = items[i:]
	}
	d.m.spoolStored.Add(float64(runs))
	if cut && damaged == nil {
		// Whole, killed before the rename.
		d.log.Warn("stored the results the store had not taken at the last stop (spooled then, a kill came before the file was renamed)",
			"file", path, "runs", runs, "events", evs, "spooled_at", sp.Written)
	} else if cut {
		// What it did not get to was held in memory only, and is lost.
		d.log.Error("the spool's writing was cut short (the process killed): stored what it held, the rest of what the store had not taken at the last stop is lost",
			"file", path, "runs", runs, "events", evs, "err", damaged)
	}
	if cut {
		if err := os.Remove(path); err != nil {
			d.log.Warn("cannot remove the spool cut short once stored", "file", path, "err", err)
		}
		return nil
	}
	if runs+evs > 0 {
		d.log.Warn("stored the results the store had not taken at the last stop (spooled then)", "file", path,
			"runs", runs, "events", evs, "spooled_at", sp.Written)
	}
	if c := sp.Counts; c.CutRuns+c.CutEvents > 0 {
		d.log.Warn("the spool was full at the last stop: the results left out of it then were lost", "file", path,
			"lost_runs", c.CutRuns, "lost_events", c.CutEvents)
	}
	if damaged != nil {
		return d.spoolAside(damaged)
	}
	if err := os.Remove(path); err != nil {
		// Stored already: a replay at the next start stores nothing twice.
		d.log.Warn("cannot remove the spool once stored", "file", path, "err", err)
	}
	return nil
}

// spoolAside moves an unreadable spool aside, so that the next stop does not
// write over it, and logs why.
func (d *Daemon) spoolAside(why error) error {
	aside := d.spoolFile + ".unreadable-" + d.clock.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(d.spoolFile, aside); err != nil {
		return fmt.Errorf("daemon: %v; moving it aside: %w", why, err)
	}
	d.log.Error("spool of results not stored at the last stop is unreadable: moved aside, not stored", "file", aside, "err", why)
	return nil
}

// ErrResultsLost is in what Run returns when its stop lost measured
// results: runs or state events the store had not taken by shutdown that
// the spool did not keep either (no spool file, a spool that cannot be
// written, or one too small for all of them). A stop that kept them all in
// the spool, or lost only runs cut short in flight (the grace period over,
// a hurried stop), returns nil: nothing measured is lost.
var ErrResultsLost = errors.New("measured results lost")

// spool writes what the store writer could not commit by shutdown (it
// returned closeErr) to the spool, for the next start to store. It returns
// an error when results are lost (ErrResultsLost): no spool file, a spool
// that cannot be written, or one too small for all of them.
func (d *Daemon) spool(w resultWriter, closeErr error) error {
	if d.spoolFile == "" {
		return fmt.Errorf("daemon: flushing results: %w (%w)", closeErr, ErrResultsLost)
	}
	items := w.Uncommitted()
	n, err := store.WriteSpool(d.spoolFile, d.location, d.clock.Now(), items, d.spoolMax)
	if err != nil {
		runs := countSpooledRuns(items)
		d.log.Error("spool not written: the results the store had not taken are lost", "file", d.spoolFile,
			"lost_runs", runs, "lost_events", len(items)-runs, "err", err)
		return fmt.Errorf("daemon: flushing results: %w; keeping them in the spool: %v (%w)", closeErr, err, ErrResultsLost)
	}
	d.m.spooled.Add(float64(n.Runs))
	why := "store not taking writes at shutdown"
	if d.hurried.Err() != nil {
		why = "stop hurried"
	}
	d.log.Warn(why+": results kept in the spool, stored at the next start", "file", d.spoolFile,
		"runs", n.Runs, "events", n.Events, "err", closeErr)
	if n.CutRuns+n.CutEvents > 0 {
		limit := d.spoolMax
		if limit <= 0 {
			limit = store.MaxSpoolBytes
		}
		d.log.Error("spool full: the latest results are left out and lost", "file", d.spoolFile, "max_bytes", limit,
			"lost_runs", n.CutRuns, "lost_events", n.CutEvents)
		return fmt.Errorf("daemon: flushing results: the spool %s is full (%d bytes): %d runs and %d events not stored are lost (%w)",
			d.spoolFile, limit, n.CutRuns, n.CutEvents, ErrResultsLost)
	}
	return nil
}

func countSpooledRuns(items []store.SpoolItem) int {
	n := 0
	for i := range items {
		if items[i].Run != nil {
			n++
		}
	}
	return n
}
