package report

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/probe"
	"github.com/slaprobe/slaprobe/store"
)

// TestAuditProperties builds reports over random timelines, prober gaps,
// maintenance, declared incidents, periods and zones (half of them with a DST
// change inside, in zones whose clocks jump at midnight among others), and
// checks the invariants an auditor relies on (issue #12):
//
//   - availability = up / (period - maintenance - unknown) to 1e-9, with up,
//     down, unknown and maintenance recomputed independently from the
//     report's own windows, unknown stretches and the configured maintenance;
//   - the daily entries are exactly the local dates of the period, each once,
//     weighted by its real length (found by scanning the clock minute by
//     minute), and their down time adds up to the period's;
//   - incidents never overlap and cover every counted down window;
//   - every declared incident's measured start and end lie in a window of one
//     of its own functions, or are null.
func TestAuditProperties(t *testing.T) {
	seeds := 120
	if testing.Short() {
		seeds = 30
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			c := randomCase(uint64(seed))
			var s store.Store = newMemStore()
			if seed%4 == 0 { // the real store too, now and then
				s = stores()[0].open(t)
			}
			load(t, s, c.cfg, c.runs)
			rep, err := Build(context.Background(), Input{Config: c.cfg, Store: s, From: c.from, To: c.to, Now: c.now, Timelines: c.timelines})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s to %s, now %s, %d runs, %d flows, policy %+v", c.cfg.Timezone, c.from.Format(time.RFC3339), c.to.Format(time.RFC3339),
				c.now.Format(time.RFC3339), len(c.runs), len(c.cfg.Services[0].Flows), c.cfg.Policy)
			checkAccounting(t, c, rep)
			checkDays(t, c, rep)
			checkIncidents(t, c, rep)
			checkReconciliation(t, rep)
		})
	}
}

type randCase struct {
	cfg            *config.Config
	from, to, now  time.Time
	runs           []probe.Run
	timelines      []*config.Timeline
	elapsedEnd     time.Time
	locations      []string
	degradedIsDown bool
}

// Zones whose clocks change at local midnight, and others.
var (
	midnightZones = []string{"America/Santiago", "America/Asuncion", "America/Havana", "Asia/Beirut", "Africa/Cairo"}
	otherZones    = []string{"UTC", "Asia/Seoul", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"}
)

func randomCase(seed uint64) randCase {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	zone := otherZones[rng.IntN(len(otherZones))]
	if rng.IntN(2) == 0 {
		zone = midnightZones[rng.IntN(len(midnightZones))]
	}
	interval := []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute}[rng.IntN(3)]
	cfg := testConfig(zone, interval)
	loc := cfg.Loc
	if rng.IntN(2) == 0 {
		secondFlow(cfg)
	}
	cfg.Policy.Degraded = []string{"up", "down"}[rng.IntN(2)]
	cfg.Policy.Unknown = []string{"exclude", "exclude", "down"}[rng.IntN(3)]
	cfg.Policy.FlapGap = time.Duration(rng.IntN(3)) * 5 * time.Minute

	// The period: a few hours to four days, half of the time around one of
	// the zone's clock changes in 2024 or 2025.
	from := time.Date(2024+rng.IntN(2), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, loc).
		Add(time.Duration(rng.IntN(24*60)) * time.Minute)
	var change time.Time
	if trs := transitions(time.Date(2024, 1, 1, 0, 0, 0, 0, loc), loc); len(trs) > 0 && rng.IntN(2) == 0 {
		change = trs[rng.IntN(len(trs))]
		from = change.Add(-time.Duration(rng.IntN(36*60)) * time.Minute)
	}
	if rng.IntN(3) == 0 { // a period that starts at the first instant of a day
		from = dayStart(from, loc)
	}
	to := from.Add(time.Duration(3+rng.IntN(93)) * time.Hour)
	if rng.IntN(3) == 0 {
		to = nextDay(to, loc)
	}
	if !change.IsZero() && !to.After(change) {
		to = change.Add(time.Duration(1+rng.IntN(30)) * time.Hour)
	}
	now := to
	if rng.IntN(4) == 0 {
		now = from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
	}
	c := randCase{cfg: cfg, from: from, to: to, now: now, elapsedEnd: now, degradedIsDown: cfg.Policy.Degraded == "down"}

	c.locations = []string{"seoul-a", "seoul-b", "seoul-c"}[:1+rng.IntN(3)]
	dataFrom, dataTo := from.Add(-time.Duration(rng.IntN(6))*time.Hour), to.Add(time.Duration(rng.IntN(6))*time.Hour)
	dataTo = minT(dataTo, now) // nothing runs after now
	kinds := []string{"ok", "ok", "ok", "fail:login", "fail:send", "fail:receive", "slow:login", "slow:receive", "gap"}
	for fi, f := range cfg.Services[0].Flows {
		start := dataFrom
		if fi == 1 && rng.IntN(3) == 0 { // a flow added part-way, or never run
			start = from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)) + int64(time.Hour))))
		}
		for _, l := range c.locations {
			var seg time.Time
			kind := "ok"
			offset := time.Duration(rng.IntN(int(interval/time.Second))) * time.Second
			for at := start.Add(offset); at.Before(dataTo); at = at.Add(interval) {
				if !at.Before(seg) {
					kind = kinds[rng.IntN(len(kinds))]
					seg = at.Add(time.Duration(1+rng.IntN(240)) * time.Minute)
				}
				if kind == "gap" {
					continue
				}
				spec := kind
				r := mkFlowRun(f.Name, l, at.Add(time.Duration(rng.IntN(900))*time.Millisecond), spec)
				if f.Name == "inbox" {
					if spec == "fail:send" {
						r = mkFlowRun(f.Name, l, r.Start, "fail:receive")
					}
					r.Steps = []probe.StepResult{r.Steps[0], r.Steps[2]}
				}
				c.runs = append(c.runs, r)
			}
		}
	}
	// Maintenance: up to two windows, for the service or all.
	for range rng.IntN(3) {
		s := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
		cfg.Maintenance = append(cfg.Maintenance, config.Maintenance{
			Service: []string{"messaging", "*"}[rng.IntN(2)], Start: s, End: s.Add(time.Duration(10+rng.IntN(300)) * time.Minute),
			Reason: fmt.Sprintf("work %d", rng.IntN(100)),
		})
	}
	// Declared incidents.
	fns := []string{"login", "send", "receive"}
	var incs []config.Incident
	for i := range rng.IntN(4) {
		s := from.Add(-2*time.Hour + time.Duration(rng.Int64N(int64(to.Sub(from)+2*time.Hour))))
		inc := config.Incident{
			ID: fmt.Sprintf("inc-%d", i), Service: "messaging", Start: s,
			Mode: []string{"down", "error", "slow"}[rng.IntN(3)],
		}
		for _, fn := range fns {
			if rng.IntN(2) == 0 {
				inc.Functions = append(inc.Functions, fn)
			}
		}
		if len(inc.Functions) == 0 {
			inc.Functions = []string{fns[rng.IntN(3)]}
		}
		if rng.IntN(8) > 0 {
			inc.End = s.Add(time.Duration(5+rng.IntN(600)) * time.Minute)
		}
		incs = append(incs, inc)
	}
	c.timelines = []*config.Timeline{{Name: "declared", Incidents: incs}}
	return c
}

// transitions lists loc's offset changes in the two years from t.
func transitions(t time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	for limit := t.AddDate(2, 0, 0); ; {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || end.After(limit) {
			return out
		}
		out = append(out, end)
		t = end
	}
}

// windowEnd is where a report window stops counting.
func (c randCase) windowEnd(w Window) time.Time {
	switch {
	case w.End != nil:
		return *w.End
	case w.EndCut == CutPeriod:
		return c.to
	}
	return c.elapsedEnd
}

func within(t time.Time, s, e time.Time) bool { return !t.Before(s) && t.Before(e) }

// checkAccounting recomputes the service's time accounting segment by
// segment from what the report lists, and compares.
func checkAccounting(t *testing.T, c randCase, rep *Report) {
	t.Helper()
	svc := rep.Services[0]
	end := minT(maxT(c.now, c.from), c.to)
	points := []time.Time{c.from, end}
	for _, w := range svc.Windows {
		points = append(points, w.Start, c.windowEnd(w))
	}
	for _, u := range svc.Unknown {
		points = append(points, u.Start, u.End)
	}
	var maint []config.Maintenance
	for _, m := range c.cfg.Maintenance {
		if m.Service == "messaging" || m.Service == "*" {
			maint = append(maint, m)
			points = append(points, m.Start, m.End)
		}
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	points = slices.CompactFunc(points, func(a, b time.Time) bool { return a.Equal(b) })
	var down, deg, unk, mnt time.Duration
	for i := 0; i+1 < len(points); i++ {
		s, e := points[i], points[i+1]
		if s.Before(c.from) || !e.After(s) || e.After(end) {
			continue
		}
		isMaint := slices.ContainsFunc(maint, func(m config.Maintenance) bool { return within(s, m.Start, m.End) })
		allUnknown := true
		for _, f := range c.cfg.Services[0].Flows {
			if !slices.ContainsFunc(svc.Unknown, func(u Span) bool { return u.Flow == f.Name && within(s, u.Start, u.End) }) {
				allUnknown = false
			}
		}
		isKind := func(k string) bool {
			return slices.ContainsFunc(svc.Windows, func(w Window) bool { return w.Kind == k && within(s, w.Start, c.windowEnd(w)) })
		}
		d := e.Sub(s)
		switch {
		case isMaint:
			mnt += d
		case allUnknown:
			unk += d
		case isKind("down"):
			down += d
		case isKind("degraded"):
			deg += d
		}
	}
	close := func(name string, got float64, want time.Duration) {
		if math.Abs(got-want.Seconds()) > 1e-6 {
			t.Errorf("%s = %.9f s, recomputed %.9f s", name, got, want.Seconds())
		}
	}
	close("downtime", svc.DowntimeSeconds, down)
	close("degraded", svc.DegradedSeconds, deg)
	close("unknown", svc.UnknownSeconds, unk)
	close("maintenance", svc.MaintenanceSeconds, mnt)
	close("period", svc.PeriodSeconds, c.to.Sub(c.from))

	elig := end.Sub(c.from) - mnt
	bad := down
	if c.cfg.Policy.Unknown == "down" {
		bad += unk
	} else {
		elig -= unk
	}
	if c.degradedIsDown {
		bad += deg
	}
	if elig <= 0 {
		if svc.Availability != nil || svc.CreditPercent != nil {
			t.Errorf("nothing eligible, but availability %v, credit %v", svc.Availability, svc.CreditPercent)
		}
	} else {
		want := float64(elig-bad) / float64(elig)
		if svc.Availability == nil || math.Abs(*svc.Availability-want) > 1e-9 {
			t.Errorf("availability = %v, want up / (period - maintenance - unknown) = %.12f", svc.Availability, want)
		}
	}
	if got, want := svc.NoData, end.Sub(c.from)-mnt-unk <= 0; got != want {
		t.Errorf("no_data = %v, want %v", got, want)
	}
}

// checkDays compares the daily entries with the local dates found by
// scanning the clock minute by minute.
func checkDays(t *testing.T, c randCase, rep *Report) {
	t.Helper()
	loc := c.cfg.Loc
	type day struct {
		date string
		secs float64
	}
	var want []day
	cur := c.from.In(loc).Format(time.DateOnly)
	start := c.from
	for at := c.from.Truncate(time.Minute); ; at = at.Add(time.Minute) {
		if !at.After(c.from) {
			continue
		}
		if !at.Before(c.to) {
			want = append(want, day{cur, c.to.Sub(start).Seconds()})
			break
		}
		if d := at.In(loc).Format(time.DateOnly); d != cur {
			want = append(want, day{cur, at.Sub(start).Seconds()})
			cur, start = d, at
		}
	}
	svc := rep.Services[0]
	var got []day
	var sumDown, sumUnk, sumMaint, sumSecs float64
	elapsed := c.from
	for _, d := range svc.Daily {
		got = append(got, day{d.Date, d.Seconds})
		sumDown += d.DowntimeSeconds
		sumUnk += d.UnknownSeconds
		sumMaint += d.MaintenanceSeconds
		sumSecs += d.Seconds
		// A day wholly elapsed: its availability from its own figures
		// (degraded time is not in them, so only where it counts as up).
		dayEnd := elapsed.Add(time.Duration(d.Seconds * float64(time.Second)))
		if !c.degradedIsDown && !dayEnd.After(c.elapsedEnd) {
			elig, bad := d.Seconds-d.MaintenanceSeconds, d.DowntimeSeconds
			if c.cfg.Policy.Unknown == "down" {
				bad += d.UnknownSeconds
			} else {
				elig -= d.UnknownSeconds
			}
			switch {
			case elig <= 1e-9 && d.Availability != nil:
				t.Errorf("%s: nothing eligible, availability %v", d.Date, *d.Availability)
			case elig > 1e-9 && (d.Availability == nil || math.Abs(*d.Availability-(elig-bad)/elig) > 1e-9):
				t.Errorf("%s: availability %s, its figures give %.12f", d.Date, fmtF(d.Availability), (elig-bad)/elig)
			}
		}
		elapsed = dayEnd
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("daily entries:\n got %v\nwant %v", got, want)
	}
	if math.Abs(sumDown-svc.DowntimeSeconds) > 1e-6 || math.Abs(sumUnk-svc.UnknownSeconds) > 1e-6 || math.Abs(sumMaint-svc.MaintenanceSeconds) > 1e-6 {
		t.Errorf("daily down %.6f unknown %.6f maintenance %.6f, period down %.6f unknown %.6f maintenance %.6f",
			sumDown, sumUnk, sumMaint, svc.DowntimeSeconds, svc.UnknownSeconds, svc.MaintenanceSeconds)
	}
	if math.Abs(sumSecs-c.to.Sub(c.from).Seconds()) > 1e-6 {
		t.Errorf("days add up to %.3f s, the period is %.3f s", sumSecs, c.to.Sub(c.from).Seconds())
	}
}

// checkIncidents: incidents are ordered, never overlap, and cover every
// window counted as down outside maintenance.
func checkIncidents(t *testing.T, c randCase, rep *Report) {
	t.Helper()
	svc := rep.Services[0]
	incEnd := func(i Incident) time.Time {
		if i.End != nil {
			return *i.End
		}
		return c.to
	}
	for i := 1; i < len(svc.IncidentList); i++ {
		prev, cur := svc.IncidentList[i-1], svc.IncidentList[i]
		if prev.End == nil || cur.Start.Before(*prev.End) {
			t.Errorf("incidents overlap: %v then %v", prev, cur)
		}
	}
	var maint set
	for _, m := range svc.Maintenance {
		maint = append(maint, iv{m.Start, m.End})
	}
	var incs set
	for _, i := range svc.IncidentList {
		incs = append(incs, iv{i.Start, incEnd(i)})
	}
	for _, w := range svc.Windows {
		if w.Kind != "down" && !(c.degradedIsDown && w.Kind == "degraded") {
			continue
		}
		left := set{{w.Start, c.windowEnd(w)}}.minus(maint).minus(incs)
		if left.total() > 0 {
			t.Errorf("window %s %s %s..%v is not covered by an incident: %v", w.Flow, fnName(w), w.Start, w.End, left)
		}
	}
	if svc.Incidents != len(svc.IncidentList) {
		t.Errorf("incidents = %d, list has %d", svc.Incidents, len(svc.IncidentList))
	}
	// MTTR is over the incidents seen to recover (both edges measured:
	// not one where maintenance cut it, a window going on into the
	// maintenance before its start or after its end).
	// MTBF is the up time over the incidents begun in the period.
	var recovered, begun int
	var rsum float64
	inMaint := func(inc Incident) bool {
		for _, w := range svc.Windows {
			if w.Kind != "down" && !(c.degradedIsDown && w.Kind == "degraded") {
				continue
			}
			we := c.windowEnd(w)
			if w.Start.Before(inc.Start) && !we.Before(inc.Start) {
				return true
			}
			if inc.End != nil && !w.Start.After(*inc.End) && we.After(*inc.End) {
				return true
			}
		}
		return false
	}
	for _, inc := range svc.IncidentList {
		if inc.End != nil && inc.StartCut == "" && inc.EndCut == "" && !inMaint(inc) {
			recovered++
			rsum += inc.DurationSeconds
		}
		if inc.StartCut != CutPeriod {
			begun++
		}
	}
	if (svc.MTTRSeconds == nil) != (recovered == 0) || (svc.MTBFSeconds == nil) != (begun == 0) {
		t.Errorf("MTTR %v MTBF %v with %d incidents, %d recovered, %d begun in the period", svc.MTTRSeconds, svc.MTBFSeconds, svc.Incidents, recovered, begun)
	} else if recovered > 0 && !near(*svc.MTTRSeconds, rsum/float64(recovered)) {
		t.Errorf("MTTR %v, want %v: the mean of the %d recovered incidents", *svc.MTTRSeconds, rsum/float64(recovered), recovered)
	} else if begun > 0 && !near(*svc.MTBFSeconds, svc.UptimeSeconds/float64(begun)) {
		t.Errorf("MTBF %v, want %v: up time over the %d incidents begun in the period", *svc.MTBFSeconds, svc.UptimeSeconds/float64(begun), begun)
	}
}

// checkReconciliation: measured edges come from windows of the incident's
// own functions, or are null.
func checkReconciliation(t *testing.T, rep *Report) {
	t.Helper()
	svc := rep.Services[0]
	for _, rc := range svc.Reconciliation {
		in := func(at *time.Time) bool {
			for _, w := range rc.Windows {
				if w.Function == nil || !slices.Contains(rc.Functions, *w.Function) {
					continue
				}
				e := rep.To
				if w.End != nil {
					e = *w.End
				}
				if !at.Before(w.Start) && !at.After(e) {
					return true
				}
			}
			return false
		}
		for name, at := range map[string]*time.Time{"start": rc.MeasuredStart, "end": rc.MeasuredEnd} {
			if at != nil && !in(at) {
				t.Errorf("%s (%s): measured %s %s is in no window of its functions: %s", rc.ID, strings.Join(rc.Functions, ","), name, at, winList(rc.Windows))
			}
		}
		if rc.MeasuredStart != nil && !rc.Detected {
			t.Errorf("%s: a measured start but not detected", rc.ID)
		}
		if (rc.StartDeltaSeconds == nil) != (rc.MeasuredStart == nil) {
			t.Errorf("%s: start delta %v with measured start %v", rc.ID, rc.StartDeltaSeconds, rc.MeasuredStart)
		}
	}
}
