package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
	"github.com/slaprobe/slaprobe/store"
)

// Channel delivers a report version to one target.
type Channel interface {
	Kind() string   // webhook | email (the channel label of the metric)
	Target() string // the URL or the recipients: recorded in the store, never a secret
	Send(ctx context.Context, m *Message) error
}

// Message is one report version as channels send it.
type Message struct {
	Month   string
	Version int
	Changes string // what changed from the version before ("" for the first)
	Summary Summary
	Files   []File
	// Key is stable for (month, version, channel, target): an idempotency
	// key for receivers, since a crash during an attempt repeats it.
	Key string
}

// Refused is what a channel returns when it delivered to some of its
// recipients and the others were refused for good: the delivery is done
// (another attempt would repeat it to those that have it), and the refusals
// are recorded as its result and logged as a warning.
type Refused struct{ Err error }

func (r *Refused) Error() string { return "delivered; refused: " + r.Err.Error() }

// Permanent is what a channel returns when the target refused the report
// for good: another attempt would be refused the same (a webhook's 404 or
// 401, an SMTP server's 550 for every recipient), so the delivery is given
// up at once, recorded failed with the refusal as its result and logged as
// an error, rather than retried with backoff for an hour. A 5xx, 408, 409,
// 425 or 429 answer, an SMTP 4xx, a connection error or a timeout is not
// one: it is retried.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return "refused for good, not retried: " + p.Err.Error() }

func (p *Permanent) Unwrap() error { return p.Err }

// File is one archived file of the version.
type File struct {
	Name string // report.pdf
	Path string // absolute path in the archive
}

// ContentType is the MIME type of a report file.
func (f File) ContentType() string {
	switch filepath.Ext(f.Name) {
	case ".pdf":
		return "application/pdf"
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json"
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".md":
		return "text/markdown; charset=utf-8"
	}
	return "application/octet-stream"
}

// Channels builds the delivery channels of cfg's reports: block.
func Channels(cfg *config.Config) []Channel {
	var out []Channel
	for _, w := range cfg.Reports.Webhooks {
		out = append(out, newWebhook(cfg, w))
	}
	if e := cfg.Reports.Email; e != nil {
		out = append(out, newEmail(cfg, e, attemptTimeout))
	}
	return out
}

// attemptTimeout is the default bound of one delivery attempt.
const attemptTimeout = 2 * time.Minute

// backoff is the wait after the n-th failed attempt (n >= 1).
func backoff(r config.Retry, n int) time.Duration {
	d := r.Backoff
	for i := 1; i < n && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

func (p *Publisher) deliverLoop(ctx context.Context) {
	var failing failLog
	for {
		if err := p.DeliverDue(ctx); ctx.Err() == nil {
			failing.note(p.log, p.clk.Now(), err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-p.clk.After(p.opts.PollEvery):
		}
	}
}

// failLog logs the outcome of the delivery poll (every PollEvery, a
// second): a failure at once, then at most one warning a minute while it
// fails (a store that could not be written, a read-only SQLite file, logged
// one every second: 29 in 28 s), with the number of polls that failed since
// the line before (failed_polls); and the first poll that works after a
// failure that was warned of, at info, so that the last warning is not taken
// for how things stand.
type failLog struct {
	warned time.Time // the last warning (zero: none yet)
	failed int       // polls failed since it
	open   bool      // the polls fail, and that was warned of
}

func (f *failLog) note(log *slog.Logger, now time.Time, err error) {
	if err == nil {
		if f.open {
			log.Info("report deliveries: working again", "failed_polls", f.failed)
			f.open, f.failed = false, 0
		}
		return
	}
	f.failed++
	switch {
	case f.warned.IsZero() || f.failed == 1 && now.Sub(f.warned) >= time.Minute:
		log.Warn("report deliveries", "err", err)
	case now.Sub(f.warned) >= time.Minute:
		log.Warn("report deliveries", "err", err, "failed_polls", f.failed)
	default:
		return
	}
	f.warned, f.failed, f.open = now, 0, true
}

// DeliverDue attempts every pending delivery whose time has come, and
// records each attempt's outcome; on the prober that holds the publisher
// lease only.
func (p *Publisher) DeliverDue(ctx context.Context) error {
	if ok, err := p.lead(ctx, false); err != nil || !ok {
		return err // the publisher delivers: it has the files
	}
	cfg := p.config()
	pend, err := p.opts.Store.PendingDeliveries(ctx)
	if err != nil {
		return err
	}
	chans := p.opts.Channels(cfg)
	files := map[string][]string{} // month/version -> files
	digests := map[string]string{} // month/version -> the version's digest
	makers := map[string]string{}  // month/version -> the prober that made it
	figs := map[string]string{}    // month/version -> its figures as recorded
	for _, d := range pend {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := p.clk.Now()
		if d.Next.After(now) {
			continue
		}
		// A renewal of the lease before each attempt, not the answer of
		// one up to LeaseCheck old: another prober takes the role over
		// only after seeing the lease unchanged for LeaseStale (2m) from
		// after this renewal, and an attempt lasts at most AttemptTimeout
		// (2m), so an attempt that begins here has ended before another
		// publisher can begin its own.
		if ok, err := p.lead(ctx, true); err != nil || !ok {
			return err // taken over during the last attempt, or the lease not renewed: the publisher goes on
		}
		var ch Channel
		for _, c := range chans {
			if c.Kind() == d.Channel && c.Target() == d.Target {
				ch = c
			}
		}
		if ch == nil {
			d.State, d.Last, d.Result = store.DeliveryFailed, now, "channel no longer configured"
			if err := p.opts.Store.UpdateDelivery(ctx, d); err != nil {
				return err
			}
			p.deliveries.WithLabelValues(d.Channel, "failed").Inc()
			p.log.Error("report delivery", "month", d.Month, "version", d.Version, "channel", d.Channel, "target", d.Target,
				"attempt", d.Attempts, "state", d.State, "result", d.Result)
			continue
		}
		key := fmt.Sprintf("%s/v%d", d.Month, d.Version)
		if _, ok := files[key]; !ok {
			vs, err := p.opts.Store.ReportVersions(ctx, d.Month)
			if err != nil {
				return err
			}
			for _, v := range vs {
				files[fmt.Sprintf("%s/v%d", v.Month, v.Version)] = v.Files
				digests[fmt.Sprintf("%s/v%d", v.Month, v.Version)] = v.Digest
				makers[fmt.Sprintf("%s/v%d", v.Month, v.Version)] = v.Maker
				figs[fmt.Sprintf("%s/v%d", v.Month, v.Version)] = v.Figures
			}
		}
		m, err := p.message(cfg, d, files[key], digests[key], figs[key])
		if by := makers[key]; err != nil && by != "" && by != p.me {
			err = fmt.Errorf("made by prober %s before this one took the publisher role over; its files are in that prober's archive unless reports.archive is shared: %w", by, err)
		}
		if err == nil {
			actx, cancel := context.WithTimeout(ctx, min(p.opts.AttemptTimeout, p.opts.LeaseStale))
			err = ch.Send(actx, m)
			cancel()
		}
		if ctx.Err() != nil {
			return ctx.Err() // shutting down: the attempt does not count
		}
		d.Attempts++
		d.Last = p.clk.Now()
		result := "delivered"
		var refused *Refused
		var permanent *Permanent
		switch {
		case err == nil:
			d.State, d.Result, d.Delivered = store.DeliveryDelivered, "ok", d.Last
		case errors.As(err, &refused):
			d.State, d.Result, d.Delivered = store.DeliveryDelivered, resultText(cfg, err), d.Last
		case errors.As(err, &permanent):
			// Given up at once: the same report to the same target would
			// be refused the same way.
			d.State, d.Result, result = store.DeliveryFailed, resultText(cfg, permanent), "failed"
		default:
			d.Result = resultText(cfg, err)
			if d.Attempts >= cfg.Reports.Retry.Attempts {
				d.State, result = store.DeliveryFailed, "failed"
			} else {
				d.Next, result = d.Last.Add(backoff(cfg.Reports.Retry, d.Attempts)), "retry"
			}
		}
		uerr := p.opts.Store.UpdateDelivery(ctx, d)
		if uerr != nil && !errors.Is(uerr, store.ErrDeliveryDone) {
			return uerr
		}
		p.deliveries.WithLabelValues(d.Channel, result).Inc()
		if uerr != nil {
			// Another prober took the role over during this attempt
			// (this prober's database connection stalled past the
			// lease after the send) and
			// recorded the delivery: its record stands.
			p.log.Warn("report delivery: attempt not recorded, another prober recorded this delivery meanwhile (it took the publisher role over during the attempt)",
				"month", d.Month, "version", d.Version, "channel", d.Channel, "target", d.Target, "attempt", d.Attempts, "result", d.Result, "location", p.me)
			continue
		}
		// By level, so that a log filtered to warnings shows every failed
		// attempt and an error every delivery given up.
		level := slog.LevelInfo
		switch {
		case refused != nil:
			level = slog.LevelWarn
		case result == "retry":
			level = slog.LevelWarn
		case result == "failed":
			level = slog.LevelError
		}
		p.log.Log(ctx, level, "report delivery", "month", d.Month, "version", d.Version, "channel", d.Channel, "target", d.Target,
			"attempt", d.Attempts, "state", d.State, "result", d.Result)
	}
	return nil
}

// maxResult is the most a delivery record keeps of an attempt's error.
const maxResult = 512

// resultText is a failed attempt's error as it is recorded and logged:
// secrets redacted, then valid UTF-8 without control or format characters
// (a receiver's answer can be anything; PostgreSQL refuses NUL bytes and
// invalid UTF-8, and a refused record would leave the attempt uncounted,
// to be repeated at every poll), at most maxResult bytes, never cut inside
// a "***" (a lone "*" would read as the receiver's text).
func resultText(cfg *config.Config, err error) string {
	s := strings.ToValidUTF8(cfg.Redact(err.Error()), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.In(r, unicode.Cc, unicode.Cf) {
			return ' '
		}
		return r
	}, s)
	// Again: folding spaces can make a secret of an echo that was not one
	// ("a\tb" for the secret "a b").
	s = cfg.Redact(strings.Join(strings.Fields(s), " "))
	return redact.Shorten(s, maxResult)
}

// message loads what a delivery sends. The record's month and files must
// name the version's own directory in the archive (DIR/MONTH/vN/report.*),
// and the files must be in the archive, not behind a link out of it: a
// record is no licence to send any file the process can read. With the
// version's recorded figures (schema version 9 on), the archive's
// figures.json must be them.
//
// Its key (the webhook's Idempotency-Key, the e-mail's Message-ID) is the
// same for every attempt of the delivery and names the version's content
// (digest): two probers with their own databases, or a store started
// afresh, make a "2022-10 v1" each, and a receiver must not take the second
// for a repeat of the first.
func (p *Publisher) message(cfg *config.Config, d store.Delivery, paths []string, digest, figures string) (*Message, error) {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%s|%s|%s", d.Month, d.Version, d.Channel, d.Target, digest)))
	m := &Message{Month: d.Month, Version: d.Version, Key: fmt.Sprintf("slaprobe-%s-v%d-%s", d.Month, d.Version, hex.EncodeToString(h[:8]))}
	if !monthDir.MatchString(d.Month) || d.Version < 1 {
		return nil, fmt.Errorf("publish: a delivery of %q version %d: not a month's report", d.Month, d.Version)
	}
	vrel := fmt.Sprintf("%s/v%d/", d.Month, d.Version)
	root, err := os.OpenRoot(cfg.Reports.Archive)
	if err != nil {
		return nil, fmt.Errorf("publish: archive: %w", err)
	}
	defer root.Close()
	vdir := filepath.Join(cfg.Reports.Archive, filepath.FromSlash(vrel))
	if figures != "" {
		// The files of another version of that number (made here and not
		// recorded: a crash before the record, or the role taken over
		// meanwhile) are not this version's.
		if data, err := root.ReadFile(filepath.Join(filepath.FromSlash(vrel), figuresFile)); err == nil && string(data) != figures {
			return nil, fmt.Errorf("publish: %s is not the recorded version %d (its figures differ): the files of a version made here and not recorded", vdir, d.Version)
		}
	}
	sum, changes, err := readVersionInfo(root, vdir, filepath.FromSlash(vrel))
	if err != nil {
		return nil, err
	}
	m.Summary, m.Changes = sum, changes
	for _, rel := range paths {
		name := strings.TrimPrefix(rel, vrel)
		if name == rel || name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
			return nil, fmt.Errorf("publish: the record of %s v%d names %q, outside the version's directory", d.Month, d.Version, rel)
		}
		if name == figuresFile {
			continue
		}
		if fi, err := root.Stat(filepath.FromSlash(rel)); err != nil || !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("publish: %s: not a file in the archive (%v)", rel, err)
		}
		m.Files = append(m.Files, File{Name: name, Path: filepath.Join(cfg.Reports.Archive, filepath.FromSlash(rel))})
	}
	return m, nil
}
