package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

var (
	timelineKeys = []string{"name", "title", "timezone", "source", "note", "incidents"}
	incidentKeys = []string{"id", "title", "service", "functions", "start", "end", "mode", "rate", "latency", "notices", "note"}
	noticeKeys   = []string{"at", "text"}
	modes        = []string{ModeDown, ModeError, ModeSlow, ModeDrop}
)

// LoadTimeline reads a timeline file with opts.ReadFile and parses it.
func LoadTimeline(path string, opts Options) (*Timeline, error) {
	opts = opts.withDefaults()
	data, err := opts.ReadFile(path)
	if err != nil {
		return nil, errOrNil(Errors{{File: path, Msg: fmt.Sprintf("cannot read the timeline: %v", err)}}, path)
	}
	return ParseTimeline(path, data)
}

// LoadTimelines loads each of paths once, in the order first named: a file
// named twice, however its path is spelt, is one timeline (as a config
// loads a file its services name twice once). An incident id is unique
// across them, as across the timelines a config loads.
func LoadTimelines(paths []string, opts Options) ([]*Timeline, error) {
	seen := map[string]bool{}
	ids := map[string]string{} // incident id -> file
	var out []*Timeline
	var errs Errors
	for _, p := range paths {
		key := filepath.Clean(p)
		if abs, err := filepath.Abs(key); err == nil {
			key = abs
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		t, err := LoadTimeline(p, opts)
		if err != nil {
			return nil, err
		}
		for i, inc := range t.Incidents {
			if other, dup := ids[inc.ID]; dup {
				errs = append(errs, &Error{File: p, Line: inc.Line, Key: index("incidents", i) + ".id", Msg: fmt.Sprintf("incident id %q is also used in %s", inc.ID, other)})
				continue
			}
			ids[inc.ID] = p
		}
		// Incidents of one service in two files are reconciled together
		// too (parser.timelines does the same for a config's).
		for i, inc := range t.Incidents {
			for _, prev := range out {
				if w, ok := overlapWarning(prev.Incidents, inc, p, index("incidents", i), func(o Incident) string { return fmt.Sprintf("%s line %d", prev.File, o.Line) }); ok {
					t.warnings = append(t.warnings, w)
					break
				}
			}
		}
		out = append(out, t)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// ParseTimeline parses and validates a timeline; file names it in errors.
// It returns every problem found, as Errors sorted by line.
func ParseTimeline(file string, data []byte) (*Timeline, error) {
	var errs Errors
	d := newDecoder(file, &errs, len(data))
	root, ok := d.parse(data)
	if !ok {
		return nil, errOrNil(errs, file)
	}
	tl := d.timeline(root, nil)
	if len(errs) > 0 {
		return nil, errOrNil(errs, file)
	}
	return tl, nil
}

// timeline decodes a timeline document. check, when set, is called for
// every incident that has an id, with its key and the line of its service,
// for checks against a config.
func (d *decoder) timeline(root *yaml.Node, check func(inc *Incident, key string, serviceLine int)) *Timeline {
	tl := &Timeline{File: d.file}
	var incidents *yaml.Node
	var loc *time.Location
	d.object(root, "", timelineKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			tl.Name, _ = d.name(e.v, key)
		case "title":
			tl.Title, _ = d.str(e.v, key)
		case "timezone":
			if s, ok := d.str(e.v, key); ok {
				if l, err := zone(s); err != nil {
					d.errf(e.v, key, "%v", err)
				} else {
					tl.Timezone, loc = s, l
				}
			}
		case "source":
			tl.Source, _ = d.str(e.v, key)
		case "note":
			tl.Note, _ = d.str(e.v, key)
		case "incidents":
			incidents = e.v
		}
	})
	if tl.Name == "" {
		base := filepath.Base(d.file)
		tl.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	ids := map[string]int{}
	for i, n := range d.seq(incidents, "incidents") {
		key := index("incidents", i)
		inc, serviceLine, ok := d.incident(n, key, tl, loc)
		if inc.ID == "" {
			continue
		}
		if check != nil {
			check(&inc, key, serviceLine)
		}
		if line, dup := ids[inc.ID]; dup {
			d.errf(&yaml.Node{Line: inc.Line}, key+".id", "duplicate incident id %q (first used on line %d)", inc.ID, line)
			continue
		}
		ids[inc.ID] = inc.Line
		if ok {
			if w, ok := overlapWarning(tl.Incidents, inc, d.file, key, func(prev Incident) string { return fmt.Sprintf("line %d", prev.Line) }); ok {
				tl.warnings = append(tl.warnings, w)
			}
			tl.Incidents = append(tl.Incidents, inc)
		}
	}
	return tl
}

// overlapWarning is a warning at inc (in file, at key) when it overlaps in
// time one of prevs (named by where: "line 3", or "x.yaml line 3" for one
// of another timeline the config names) on a function of the same
// service: the
// reconciliation pairs each declared incident with the measured windows of
// its functions, so two that overlap are paired with the same window and
// each one's start or end delta counts the other's time (an entry written
// twice, or a first one's end not moved when the second was added).
// Incidents that only meet (one's end the other's start) do not overlap,
// nor do a slow one and one of another mode: the reconciliation measures
// a slow incident by the degraded windows and the other by the down ones
// (a ten-minute outage inside an hour of slowness, each delta 0).
func overlapWarning(prevs []Incident, inc Incident, file, key string, where func(Incident) string) (Warning, bool) {
	for _, prev := range prevs {
		if prev.Service != inc.Service || (prev.Mode == ModeSlow) != (inc.Mode == ModeSlow) {
			continue
		}
		// [start, end), an ongoing one without end; in time first, the
		// cheaper test (most pairs of a long timeline are apart).
		if !(prev.Ongoing() || inc.Start.Before(prev.End)) || !(inc.Ongoing() || prev.Start.Before(inc.End)) {
			continue
		}
		var shared []string
		for _, f := range inc.Functions {
			if contains(prev.Functions, f) && !contains(shared, f) {
				shared = append(shared, f)
			}
		}
		if len(shared) == 0 {
			continue
		}
		from, to := inc.Start, inc.End
		if prev.Start.After(from) {
			from = prev.Start
		}
		if to.IsZero() || !prev.Ongoing() && prev.End.Before(to) {
			to = prev.End
		}
		span := "from " + from.Format(time.RFC3339Nano) + " on"
		if !to.IsZero() {
			span = "from " + from.Format(time.RFC3339Nano) + " to " + to.Format(time.RFC3339Nano)
		}
		msg := fmt.Sprintf("overlaps incident %s (%s) on %s %s %s: both are reconciled with the same measured windows, so each one's start or end delta counts the other's time; end the first where the second starts, or make them one incident",
			prev.ID, where(prev), inc.Service, strings.Join(shared, ", "), span)
		return Warning{File: file, Line: inc.Line, Key: key, Msg: msg}, true
	}
	return Warning{}, false
}

// incident decodes one incident and the line of its service key; ok is
// false when it has a problem. Its times whose offset is not the one loc
// (the timeline's timezone, nil: none) had then are warnings on tl.
func (d *decoder) incident(n *yaml.Node, key string, tl *Timeline, loc *time.Location) (inc Incident, serviceLine int, ok bool) {
	before := len(*d.errs)
	rn, ok := d.item(n, key)
	if !ok {
		return Incident{}, 0, false
	}
	inc = Incident{Mode: ModeDown, Rate: 1, Line: rn.Line}
	serviceLine = rn.Line
	var haveID, haveService, haveFunctions, badFunction, haveStart bool
	var endNode, latencyNode, functionsNode *yaml.Node
	d.object(rn, key, incidentKeys, func(e entry, key string) {
		switch e.name {
		case "id":
			haveID = true
			inc.ID, _ = d.name(e.v, key)
		case "title":
			inc.Title, _ = d.str(e.v, key)
		case "service":
			haveService = true
			serviceLine = e.v.Line
			inc.Service, _ = d.name(e.v, key)
		case "functions":
			haveFunctions = true
			functionsNode = e.v
			if e.k != nil {
				inc.FunctionsLine = e.k.Line // a block list's node is at its first item
			}
			before := len(*d.errs)
			var items []*yaml.Node
			if v := d.resolve(e.v); v != nil && v.Kind == yaml.ScalarNode && !isNull(v) && v.Value != "" {
				// "functions: receive": a list of one is what was meant.
				d.errf(v, key, "expected a list, got %s: write [%s]", describe(v), v.Value)
			} else {
				items = d.seq(e.v, key)
			}
			badFunction = len(*d.errs) > before // "functions: login": one error, not two
			for i, f := range items {
				if s, ok := d.name(f, index(key, i)); ok {
					inc.Functions = append(inc.Functions, s)
				} else {
					badFunction = true
				}
			}
		case "start":
			haveStart = true
			inc.Start, _ = d.zonedTime(e.v, key, loc)
			d.offsetWarning(tl, loc, e.v, key, inc.Start)
		case "end":
			endNode = e.v
			inc.End, _ = d.zonedTime(e.v, key, loc)
			d.offsetWarning(tl, loc, e.v, key, inc.End)
		case "mode":
			if s, ok := d.str(e.v, key); ok {
				if !contains(modes, s) {
					d.errf(e.v, key, "unknown mode %q (expected one of: %s)", s, strings.Join(modes, ", "))
				} else {
					inc.Mode = s
				}
			}
		case "rate":
			if v := d.resolve(e.v); v != nil && v.Kind == yaml.ScalarNode && strings.HasSuffix(strings.TrimSpace(v.Value), "%") {
				// "rate: 50%": a share is written as a number.
				pct, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v.Value), "%")), 64)
				if err == nil && pct > 0 && pct <= 100 {
					d.errf(v, key, "%q is a percentage: write the share of requests as a number in (0, 1]: %s", v.Value, strconv.FormatFloat(pct/100, 'f', -1, 64))
				} else {
					d.errf(v, key, "%q is a percentage: write the share of requests as a number in (0, 1], e.g. 0.5 for half", v.Value)
				}
				break
			}
			if v, ok := d.float(e.v, key); ok {
				if v <= 0 || v > 1 {
					d.errf(e.v, key, "rate %v is outside (0, 1]", v)
				} else {
					inc.Rate = v
				}
			}
		case "latency":
			latencyNode = e.v
			if v, ok := d.duration(e.v, key); ok {
				if v < 0 {
					d.errf(e.v, key, "must not be negative")
				} else {
					inc.Latency = v
				}
			}
		case "notices":
			for i, m := range d.seq(e.v, key) {
				inc.Notices = append(inc.Notices, d.notice(m, index(key, i), tl, loc))
			}
		case "note":
			inc.Note, _ = d.str(e.v, key)
		}
	})
	if !haveID {
		d.errf(rn, key+".id", "is required")
	}
	if !haveService {
		d.errf(rn, key+".service", "is required")
	}
	if !haveFunctions || len(inc.Functions) == 0 && !badFunction {
		d.errf(orNode(functionsNode, rn), key+".functions", "is required: list at least one function")
	}
	if !haveStart {
		d.errf(rn, key+".start", "is required")
	}
	if !inc.Start.IsZero() && !inc.End.IsZero() && !inc.End.After(inc.Start) {
		d.errf(endNode, key+".end", "%s", endNotAfterStart(inc.Start, inc.End, loc, "the timeline's timezone"))
	}
	if inc.Mode == ModeSlow && inc.Latency <= 0 {
		d.errf(orNode(latencyNode, rn), key+".latency", "mode slow needs a latency greater than 0")
	}
	inc.ServiceLine = serviceLine
	return inc, serviceLine, len(*d.errs) == before
}

func (d *decoder) notice(n *yaml.Node, key string, tl *Timeline, loc *time.Location) Notice {
	var no Notice
	var haveAt bool
	rn, ok := d.item(n, key)
	if !ok {
		return no
	}
	d.object(rn, key, noticeKeys, func(e entry, key string) {
		switch e.name {
		case "at":
			haveAt = true
			no.At, _ = d.zonedTime(e.v, key, loc)
			d.offsetWarning(tl, loc, e.v, key, no.At)
		case "text":
			no.Text, _ = d.str(e.v, key)
		}
	})
	if !haveAt {
		d.errf(rn, key+".at", "is required")
	}
	return no
}

// zonedTime reads a timeline's time as d.time does; one written without its
// offset (or with a zone's name for it) is still an error, but one that says
// what the wall clock time is in loc, the timeline's timezone (nil: none):
// its offset, both of them for a time the clocks went back over (01:30 on
// the night New York leaves daylight time happened twice, an hour apart),
// or that it did not exist there, for one the clocks jumped over. The
// offset is the user's to choose, never guessed.
func (d *decoder) zonedTime(n *yaml.Node, key string, loc *time.Location) (time.Time, bool) {
	return d.zonedTimeOf(n, key, loc, "the timeline's timezone")
}

// zonedTimeOf is zonedTime with whose naming loc in the hint ("the
// config's timezone" for maintenance windows).
func (d *decoder) zonedTimeOf(n *yaml.Node, key string, loc *time.Location, whose string) (time.Time, bool) {
	s, ok := d.str(n, key)
	if !ok {
		return time.Time{}, false
	}
	t, err := ParseRFC3339(s)
	if err != nil {
		msg := fmt.Sprintf("invalid time %q: %v", s, err)
		if hint := WallHint(s, loc, whose); hint != "" {
			// What it is in the zone, in place of the general example
			// (a Korean time, for a file in another zone).
			why := strings.TrimSuffix(strings.TrimSuffix(err.Error(), UseRFC3339), ": ")
			why = strings.TrimSuffix(why, ", e.g. +09:00")
			msg = fmt.Sprintf("invalid time %q: %s: %s", s, why, hint)
			if why == "" {
				msg = fmt.Sprintf("invalid time %q: %s", s, hint)
			}
		}
		d.errf(n, key, "%s", msg)
		return time.Time{}, false
	}
	return t, true
}

// WallHint says what s, a wall clock time with no offset or with a zone's
// name in its place ("2026-11-01T01:30:00", "2026-11-01T01:30:00 EST"), is
// in loc, whose is the timezone's ("the timeline's timezone"): "" when s is
// no such time or loc is nil.
func WallHint(s string, loc *time.Location, whose string) string {
	if loc == nil {
		return ""
	}
	u := upperTZ(s)
	// A space for the T, or no seconds ("2026-11-01 01:30", "2026-11-01T01:30 EST"), write the
	// same wall clock time: read as if written in full, in s too (the
	// same bytes but for the case of t and z).
	if len(u) != len(s) {
		return ""
	}
	if len(u) >= 16 && u[10] == ' ' {
		u, s = u[:10]+"T"+u[11:], s[:10]+"T"+s[11:]
	}
	if len(u) >= 16 && (len(u) == 16 || u[16] != ':') { // "01:30", "01:30 EST", "01:30EST"
		if _, err := time.Parse("2006-01-02T15:04", u[:16]); err == nil {
			u, s = u[:16]+":00"+u[16:], s[:16]+":00"+s[16:]
		}
	}
	const wall = "2006-01-02T15:04:05" // time.Parse takes a fraction after it too
	var w time.Time
	var name string
	if v, err := time.Parse(wall, u); err == nil {
		w = v
	} else if len(u) > len(wall) {
		v, err := time.Parse(wall, u[:len(wall)])
		rest := strings.TrimSpace(strings.TrimLeft(s[len(wall):], ".0123456789"))
		if err != nil || rest == "" || strings.IndexFunc(rest, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
			return ""
		}
		if frac := strings.TrimSpace(s[len(wall) : len(s)-len(rest)]); frac != "" {
			if v, err = time.Parse(wall, u[:len(wall)]+frac); err != nil {
				return ""
			}
		}
		w, name = v, rest
	} else {
		return ""
	}
	// The offsets loc has within a day of the wall time: each that maps it
	// to an instant at which loc has that offset is a reading of it.
	var cands []time.Time
	var offs []string // loc's offsets in that time, in order
	seen := map[int]bool{}
	for h := -26; h <= 26; h++ {
		_, off := w.Add(time.Duration(h) * time.Hour).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		offs = append(offs, time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", off)).Format("-07:00"))
		t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.FixedZone("", off))
		if _, o := t.In(loc).Zone(); o == off {
			cands = append(cands, t)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].Before(cands[j]) })
	if name != "" {
		var named []time.Time
		for _, t := range cands {
			if abbr, _ := t.In(loc).Zone(); strings.EqualFold(abbr, name) {
				named = append(named, t)
			}
		}
		if len(named) == 0 {
			// The zone's own name out of season (EST for a July time in
			// New York, as many write it all year): what it says, and
			// what the clocks read.
			return outOfSeason(w, name, loc, whose, cands)
		}
		cands = named
	}
	write := func(t time.Time) string { return ReadingIn(t, loc) }
	clock, day := w.Format("15:04:05"), w.Format("2006-01-02")
	switch len(cands) {
	case 0:
		return fmt.Sprintf("in %s (%s) the clocks jumped over %s on %s, so it did not exist there: write the offset meant (%s)", loc, whose, clock, day, strings.Join(offs, " before the change, ")+" after")
	case 1:
		return fmt.Sprintf("in %s (%s) that is %s", loc, whose, write(cands[0]))
	default:
		return fmt.Sprintf("in %s (%s) %s on %s happened twice, the clocks going back: write %s for the first, %s for the second (%s later)",
			loc, whose, clock, day, write(cands[0]), write(cands[1]), hours(cands[1].Sub(cands[0])))
	}
}

// outOfSeason says what w, a wall clock time written with name for its
// offset, is when name is one of loc's abbreviations within a year of it
// but not one loc has at w's readings (cands): "2026-07-01 10:00 EST" in
// New York is 10:00-05:00, 11:00 EDT on its clocks then; 10:00 on them is
// 10:00-04:00. "" when loc has no such name then (KST in a New York file:
// another zone's name, whose offset is not loc's to tell).
func outOfSeason(w time.Time, name string, loc *time.Location, whose string, cands []time.Time) string {
	abbr, off, ok := zoneNear(loc, w, func(a string, _ int) bool { return strings.EqualFold(a, name) })
	if !ok {
		return ""
	}
	clock := w.Format("15:04:05")
	asWritten := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.FixedZone(abbr, off))
	there := asWritten.In(loc)
	thereAbbr, _ := there.Zone()
	msg := fmt.Sprintf("in %s (%s) %s is %s, but its clocks were on %s then: %s %s is %s (%s %s there)",
		loc, whose, abbr, asWritten.Format("-07:00"), thereAbbr, clock, abbr, asWritten.Format(time.RFC3339Nano), there.Format("15:04:05"), thereAbbr)
	switch len(cands) {
	case 0:
		msg += fmt.Sprintf("; its clocks jumped over %s that day", clock)
	case 1:
		msg += fmt.Sprintf("; %s on its clocks is %s", clock, ReadingIn(cands[0], loc))
	}
	return msg
}

// ReadingIn is t in loc as RFC 3339, with the zone's abbreviation where it
// has a name ("2026-11-01T01:30:00-05:00 (EST)"), not a number (Lord
// Howe's +1030).
func ReadingIn(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	out := t.Format(time.RFC3339Nano)
	if abbr, _ := t.Zone(); abbr != "" && abbr[0] != '+' && abbr[0] != '-' {
		out += " (" + abbr + ")"
	}
	return out
}

// LaterReading is the second instant at which loc's clocks read what t's
// do (the same wall clock time with the offset loc has after its clocks
// went back over it), false when they read it once.
func LaterReading(t time.Time, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		return time.Time{}, false
	}
	_, off := t.Zone()
	for h := -26; h <= 26; h++ {
		_, o := t.Add(time.Duration(h) * time.Hour).In(loc).Zone()
		if o >= off {
			continue
		}
		u := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.FixedZone("", o))
		if _, oo := u.In(loc).Zone(); oo == o && u.After(t) {
			return u, true
		}
	}
	return time.Time{}, false
}

// endNotAfterStart says that end is not after start, and what to write:
// when the end's wall clock time happened twice in loc and its second
// reading is after the start, that one ("01:10" meant the second 01:10 of
// the night the clocks go back); when the end is written on the start's
// date at an earlier time of day, the same time the next day (an outage
// from 22:30 to 01:15 written with one date); otherwise an end after the
// start. where names loc ("the timeline's timezone").
func endNotAfterStart(start, end time.Time, loc *time.Location, where string) string {
	msg := fmt.Sprintf("end %s is not after start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
	if later, ok := LaterReading(end, loc); ok && later.After(start) {
		return msg + fmt.Sprintf(": in %s (%s) %s on %s happened twice, the clocks going back; if the end is the second, write %s", loc, where, end.Format("15:04:05"), end.Format("2006-01-02"), later.Format(time.RFC3339Nano))
	}
	if s := start.In(end.Location()); end.Before(start) && s.Format("2006-01-02") == end.Format("2006-01-02") {
		// The same wall clock time a day later: in loc when the end was
		// written with loc's offset (a change of the clocks overnight
		// gives the next day its own), in the end's own offset otherwise.
		next := end.AddDate(0, 0, 1)
		if _, off := end.Zone(); loc != nil && offsetAt(end, loc) == off {
			// Not time.Date in loc alone: it moves a time the clocks skip
			// either way (02:30 on a New York spring night to 01:30 EST,
			// an hour before the time written), and of a time they repeat
			// it takes either reading (Lord Howe's 01:45 the night its
			// clocks go back half an hour: the second, +10:30, where New
			// York's 01:15 gets the first).
			const clock = "15:04:05.999999999"
			same := time.Date(end.Year(), end.Month(), end.Day()+1, end.Hour(), end.Minute(), end.Second(), end.Nanosecond(), time.FixedZone("", off))
			switch own := time.Date(end.Year(), end.Month(), end.Day()+1, end.Hour(), end.Minute(), end.Second(), end.Nanosecond(), loc); {
			case offsetAt(same, loc) == off:
				next = same.In(loc) // the offset written still holds then
			case own.Format(clock) == end.Format(clock):
				next = own // the clocks changed overnight: the next day's own
			default:
				next = same.In(loc) // skipped: the instant the offset written names (03:30 EDT for 02:30 EST)
			}
		}
		if next.After(start) {
			return msg + fmt.Sprintf(": if it ended the next day, write %s", next.Format(time.RFC3339Nano))
		}
	}
	return msg + ": write an end after the start"
}

// offsetAt is loc's UTC offset at t, in seconds.
func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// offsetWarning adds a warning to tl when t, read from n, has a UTC offset
// that loc (the timeline's timezone) did not have at that instant: standard
// and daylight time confused ("4 pm PST" for a day of PDT) moves a declared
// incident an hour, and its reconciliation with it. UTC (Z, +00:00) is not
// one: providers' postmortems often give times in UTC whatever the
// timeline's zone; nor is an offset within a minute of the zone's.
func (d *decoder) offsetWarning(tl *Timeline, loc *time.Location, n *yaml.Node, key string, t time.Time) {
	if loc == nil || t.IsZero() {
		return
	}
	if msg, ok := offsetMismatch(t, loc, "the timeline's timezone", "the provider gave the time"); ok {
		tl.warnings = append(tl.warnings, Warning{File: d.file, Line: n.Line, Key: key, Msg: msg})
	}
}

// offsetMismatch says, when t's UTC offset is not the one loc had at that
// instant, what is wrong and what to write: whose names loc ("the
// timeline's timezone"), given what was meant ("the provider gave the
// time"). UTC (Z, +00:00) and an offset within a minute of loc's are never
// wrong.
func offsetMismatch(t time.Time, loc *time.Location, whose, given string) (string, bool) {
	_, off := t.Zone()
	abbr, want := t.In(loc).Zone()
	// RFC 3339 writes an offset to the minute: one within a minute of the
	// zone's is the zone's (local mean time before 1900, Liberia's
	// -00:44:30 until 1972 cannot be written otherwise).
	if off == 0 || absInt(off-want) < 60 {
		return "", false
	}
	if abbr != "" && abbr[0] != '+' && abbr[0] != '-' {
		abbr = " (" + abbr + ")"
	} else {
		abbr = ""
	}
	local := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.FixedZone("", want))
	msg := fmt.Sprintf("%s has the offset %s, but %s (%s) was at %s%s then", t.Format(time.RFC3339), t.Format("-07:00"), loc, whose, local.Format("-07:00"), abbr)
	if _, o := local.In(loc).Zone(); o != want {
		// The zone's clocks went forward over that wall clock time: no
		// offset writes it there (suggesting the other one, each time got
		// the other's warning); the instant as written is there too.
		msg += fmt.Sprintf(", and its clocks skipped %s that day: the same instant there is %s", t.Format("15:04:05"), t.In(loc).Format(time.RFC3339))
	} else {
		msg += fmt.Sprintf(": if %s in %s, write %s (%s apart)", given, loc, local.Format(time.RFC3339), hours(time.Duration(absInt(off-want))*time.Second))
	}
	return msg, true
}

// offsetsNear reports whether loc has the UTC offset off (seconds) at some
// instant within a year of t: the other side of a daylight saving change,
// Casablanca's Ramadan offset, a zone's offset before or after it moved.
func offsetsNear(loc *time.Location, t time.Time, off int) bool {
	_, _, ok := zoneNear(loc, t, func(_ string, o int) bool { return o == off })
	return ok
}

// zoneNear is the first of loc's zones (abbreviation, offset in seconds)
// within a year of t that match takes: t's own, then those before it,
// latest first, then those after it.
func zoneNear(loc *time.Location, t time.Time, match func(abbr string, off int) bool) (string, int, bool) {
	const year = 366 * 24 * time.Hour
	for _, dir := range []int{-1, 1} {
		cur := t.In(loc)
		for range 8 { // at most two changes a year, Casablanca's four
			if a, o := cur.Zone(); match(a, o) {
				return a, o, true
			}
			start, end := cur.ZoneBounds()
			next := end
			if dir < 0 {
				if start.IsZero() {
					break
				}
				next = start.Add(-time.Nanosecond)
			}
			if next.IsZero() || next.Sub(t).Abs() > year {
				break
			}
			cur = next.In(loc)
		}
	}
	return "", 0, false
}

// hours says d, a difference of UTC offsets: "an hour", "16 hours", "30m",
// "15m30s" (an offset of local mean time had seconds).
func hours(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "an hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	s := d.String() // "30m0s", "15m30s", "30s"
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	return s
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

// CommonTimezone returns the time zone that every timeline names, and false
// when one names none or two differ.
func CommonTimezone(tls []*Timeline) (string, bool) {
	tz := ""
	for _, t := range tls {
		if t.Timezone == "" || (tz != "" && t.Timezone != tz) {
			return "", false
		}
		tz = t.Timezone
	}
	return tz, tz != ""
}

// SetTimezone sets the zone that reports' days and months follow (as
// `timezone:` in the file would).
func (c *Config) SetTimezone(name string) error {
	loc, err := zone(name)
	if err != nil {
		return err
	}
	c.Timezone, c.Loc = name, loc
	return nil
}
