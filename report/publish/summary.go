package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
)

// Summary is a report's headline figures: the body of the e-mail, the
// webhook's metadata part, and what "what changed" compares.
type Summary struct {
	Title    string           `json:"title"`
	From     time.Time        `json:"from"`
	To       time.Time        `json:"to"`
	Services []ServiceSummary `json:"services"`
}

// ServiceSummary is one service's headline figures.
type ServiceSummary struct {
	Name         string   `json:"name"`
	Availability *float64 `json:"availability"` // null without data, as in report.json
	Objective    float64  `json:"objective"`
	NoData       bool     `json:"no_data"`
	// MaintenanceOnly is report.Service's: the month was all planned
	// maintenance (no availability, but not no data). Absent otherwise.
	MaintenanceOnly bool    `json:"maintenance_only,omitempty"`
	DowntimeSeconds float64 `json:"downtime_seconds"`
	// Maintenance and unknown time move the denominator: a maintenance
	// window declared after the fact, or data found missing, revises a month.
	MaintenanceSeconds float64  `json:"maintenance_seconds"`
	UnknownSeconds     float64  `json:"unknown_seconds"`
	Incidents          int      `json:"incidents"`
	Windows            int      `json:"windows"`
	CreditPercent      *float64 `json:"credit_percent"` // null without data, or withheld
	// CreditWithheld is report.Service's: why there is no credit although
	// there is an availability (policy.min_coverage).
	CreditWithheld string `json:"credit_withheld,omitempty"`
}

func summaryOf(r *report.Report) Summary {
	s := Summary{Title: r.Title, From: r.From, To: r.To, Services: []ServiceSummary{}}
	for _, sv := range r.Services {
		ss := ServiceSummary{Name: sv.Name, Objective: sv.Objective, NoData: sv.NoData || sv.Availability == nil && !sv.MaintenanceOnly, MaintenanceOnly: sv.Availability == nil && sv.MaintenanceOnly,
			DowntimeSeconds: sv.DowntimeSeconds, MaintenanceSeconds: sv.MaintenanceSeconds, UnknownSeconds: sv.UnknownSeconds,
			Incidents: sv.Incidents, Windows: len(sv.Windows), Availability: sv.Availability, CreditPercent: sv.CreditPercent, CreditWithheld: sv.CreditWithheld}
		s.Services = append(s.Services, ss)
	}
	return s
}

// figuresOf is what figures.json keeps of a version: its summary and a
// digest of each part of the report below the headline figures, so that the
// next version can name the parts that changed. The parts are those of the
// report as measured (publish.measured): a flow added since, listed without
// runs, is not a change of its run counts, latencies or unknown stretches.
type figuresOf struct {
	Summary
	// Details maps "service: part" (or "policy") to the digest of that
	// part; absent in figures kept by versions before it.
	Details map[string]string `json:"details,omitempty"`
	// DetailsForm is the form of Details' digests: canonForm's name ("c1",
	// canonDetails) or absent (detailsOf, over the report's JSON).
	DetailsForm string `json:"details_form,omitempty"`
}

// detailParts are the parts of a service's report that Details digests,
// by the name "what changed" gives them.
var detailParts = []struct {
	name string
	of   func(s *report.Service) any
}{
	{"windows", func(s *report.Service) any { return []any{s.Windows, s.IncidentList, s.BelowQuorum} }},
	{"reconciliation with declared incidents", func(s *report.Service) any { return []any{s.Reconciliation, s.Undeclared} }},
	{"unknown stretches", func(s *report.Service) any { return s.Unknown }},
	{"maintenance", func(s *report.Service) any { return s.Maintenance }},
	{"run counts", func(s *report.Service) any { return []any{s.Runs, s.ConfirmRuns, s.RunSuccessRatio, s.Flows} }},
	{"latencies", func(s *report.Service) any { return []any{s.P50, s.P95, s.P99, s.Steps} }},
}

// canonParts are the parts of a service's canonical figures (canonical)
// that canonDetails digests, by the keys of report.json they hold.
var canonParts = []struct {
	name string
	keys []string
}{
	{"windows", []string{"windows", "incident_list", "below_quorum"}},
	{"reconciliation with declared incidents", []string{"reconciliation", "undeclared"}},
	{"unknown stretches", []string{"unknown"}},
	{"maintenance", []string{"maintenance"}},
	{"run counts", []string{"runs", "confirm_runs", "run_success_ratio", "flows"}},
	{"latencies", []string{"p50", "p95", "p99", "steps"}},
	{"degraded time", []string{"degraded_seconds"}},
	{"incident figures (MTTR, MTBF, MTTD)", []string{"mttr_seconds", "mtbf_seconds", "mttd_seconds", "longest_outage_seconds", "average_outage_seconds"}},
	{"error budget", []string{"error_budget", "period_seconds", "uptime_seconds"}},
	{"SLA credit tiers and coverage", []string{"credit_tiers", "coverage", "credit_withheld"}},
	{"daily figures", []string{"daily"}},
	{"functions", []string{"functions"}},
}

// canonHeadline are the keys of a service's canonical figures that the
// headline (Summary) compares and names itself, with their values.
var canonHeadline = []string{
	"name", "objective", "availability", "no_data", "maintenance_only", "downtime_seconds", "unknown_seconds",
	"maintenance_seconds", "incidents", "credit_percent", "credit_withheld",
}

// canonReportParts are the parts of the canonical figures outside the
// services that canonDetails digests, by the key of report.json each is
// (the period, from and to, the headline names itself; the policy and the
// config's accounting are "policy").
var canonReportParts = []struct{ name, key string }{
	{"time zone", "timezone"},
	{"prober locations", "location"},
	{"provisional", "provisional"},
}

// canonDetails is detailsOf over the canonical figures: a part is changed
// when what the digest counts of it changed (a key added since, or the
// policy's wording, is not), and "policy" is its values and the config's
// accounting.
func canonDetails(cfg *config.Config, r *report.Report) (map[string]string, error) {
	b, err := canonical(cfg, r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var c struct {
		Policy     any              `json:"policy"`
		Accounting any              `json:"accounting"`
		Services   []map[string]any `json:"services"`
	}
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	digest := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:8])
	}
	var top map[string]any
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, err
	}
	out := map[string]string{"policy": digest([]any{c.Policy, c.Accounting})}
	for _, p := range canonReportParts {
		out[p.name] = digest(top[p.key])
	}
	for _, sv := range c.Services {
		name, _ := sv["name"].(string)
		for _, p := range canonParts {
			var v []any
			for _, k := range p.keys {
				v = append(v, sv[k])
			}
			out[name+": "+p.name] = digest(v)
		}
	}
	return out, nil
}

func detailsOf(r *report.Report) map[string]string {
	digest := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:8])
	}
	out := map[string]string{"policy": digest(r.Policy)}
	for i := range r.Services {
		sv := &r.Services[i]
		for _, p := range detailParts {
			out[sv.Name+": "+p.name] = digest(p.of(sv))
		}
	}
	return out
}

// pct prints an availability as the reports do (render.Availability):
// truncated, never rounded up, with the objective's decimals, so that a
// figure never reads as meeting an objective it misses.
func pct(r, objective float64) string { return render.Availability(r, objective) }

// Text is the summary in a few lines, for the e-mail body.
func (s Summary) Text() string {
	var b strings.Builder
	// Offsets, as the reports print them, not zone abbreviations: a
	// delivery reads the summary back from figures.json, where a time keeps
	// its offset but not its zone, and time.Parse names an offset after the
	// host's own zone when that zone has it (a Tokyo report sent from a
	// Seoul host said "KST").
	const f = "2006-01-02 15:04 -07:00"
	fmt.Fprintf(&b, "%s (%s to %s)\n\n", s.Title, s.From.Format(f), s.To.Format(f))
	for _, sv := range s.Services {
		if sv.Availability == nil {
			fmt.Fprintf(&b, "- %s: %s\n", sv.Name, sv.availText(sv.Objective))
			continue
		}
		verdict := "met"
		if *sv.Availability < sv.Objective {
			verdict = "missed"
		}
		fmt.Fprintf(&b, "- %s: %s against %s (%s), down %s, %d incident(s)", sv.Name, sv.availText(sv.Objective),
			objective(sv.Objective), verdict, seconds(sv.DowntimeSeconds), sv.Incidents)
		// The time the figure does not rest on: a month measured for a day
		// must not read as a month met.
		if sv.UnknownSeconds > 0 {
			fmt.Fprintf(&b, ", not measured %s", seconds(sv.UnknownSeconds))
		}
		if sv.MaintenanceSeconds > 0 {
			fmt.Fprintf(&b, ", maintenance %s", seconds(sv.MaintenanceSeconds))
		}
		if sv.CreditPercent != nil && *sv.CreditPercent > 0 {
			fmt.Fprintf(&b, ", SLA credit %g%%", *sv.CreditPercent)
		}
		if sv.CreditWithheld != "" {
			fmt.Fprintf(&b, ", SLA credit withheld (%s)", sv.CreditWithheld)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// objective prints an objective with the decimals it has: 99%, 99.95%.
func objective(o float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", o*100), "0"), ".") + "%"
}

// availText prints the availability as the report does, with as many
// decimals as objective needs: "no data" without a figure ("planned
// maintenance" for a month all maintenance), and "0.000% (no data)" for the
// one policy.unknown: down makes of a month without data.
func (x ServiceSummary) availText(objective float64) string {
	if x.Availability == nil && x.MaintenanceOnly {
		return "planned maintenance"
	}
	if x.Availability == nil {
		return "no data"
	}
	if x.NoData {
		return pct(*x.Availability, objective) + " (no data)"
	}
	return pct(*x.Availability, objective)
}

// credit prints an SLA credit, "none" without one (no data).
func credit(c *float64) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%g%%", *c)
}

// seconds prints a time in seconds as a whole-second duration.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s)) * time.Second }

// changes says what changed from version prev of month to rep, from the
// figures kept beside prev's files.
func (p *Publisher) changes(cfg *config.Config, month string, prev int, rep *report.Report) string {
	return p.changesFrom(cfg, month, prev, "", rep)
}

// changesFrom is changes with the figures the store keeps of version prev
// (stored; "" for a version made before schema version 9), read when the
// archive lacks them: a version another prober made, before this one took
// the publisher role over, is in that prober's archive.
func (p *Publisher) changesFrom(cfg *config.Config, month string, prev int, stored string, rep *report.Report) string {
	var data []byte
	root, err := os.OpenRoot(cfg.Reports.Archive)
	if err == nil {
		data, err = root.ReadFile(filepath.Join(month, fmt.Sprintf("v%d", prev), figuresFile))
		root.Close()
	}
	if err != nil && stored != "" {
		data, err = []byte(stored), nil
	}
	// Figures kept by an older slaprobe may lack maintenance and unknown
	// time: absent, they are not compared (not taken for 0).
	type oldService struct {
		ServiceSummary
		MaintenanceSeconds *float64 `json:"maintenance_seconds"`
		UnknownSeconds     *float64 `json:"unknown_seconds"`
	}
	var old struct {
		From        time.Time         `json:"from"`
		To          time.Time         `json:"to"`
		Services    []oldService      `json:"services"`
		Details     map[string]string `json:"details"`
		DetailsForm string            `json:"details_form"`
	}
	if err != nil || json.Unmarshal(data, &old) != nil {
		return fmt.Sprintf("changed from version %d (its figures are not in the archive to compare)", prev)
	}
	cur := summaryOf(rep)
	// A service added since, with nothing measured in the month, is left
	// out of the digest (measured), and so is not named "new service".
	kept := map[string]bool{}
	for _, s := range measured(cfg, rep).Services {
		kept[s.Name] = true
	}
	byName := map[string]oldService{}
	for _, s := range old.Services {
		byName[s.Name] = s
	}
	var lines []string
	// The period moves when the config's time zone changes.
	if !old.From.IsZero() && (!old.From.Equal(cur.From) || !old.To.Equal(cur.To)) {
		const f = "2006-01-02 15:04 -07:00"
		lines = append(lines, fmt.Sprintf("period %s - %s -> %s - %s", old.From.Format(f), old.To.Format(f), cur.From.Format(f), cur.To.Format(f)))
	}
	for _, s := range cur.Services {
		o, ok := byName[s.Name]
		if !ok {
			if kept[s.Name] {
				lines = append(lines, s.Name+": new service")
			}
			continue
		}
		if o.NoData && o.Availability != nil && *o.Availability == 0 && (o.CreditPercent == nil || *o.CreditPercent == 0) {
			// Kept as 0 by versions before they were null without data
			// (policy.unknown: down keeps its 0% and its credit).
			o.Availability, o.CreditPercent = nil, nil
		}
		var d []string
		if o.Objective != s.Objective {
			d = append(d, fmt.Sprintf("objective %s -> %s", objective(o.Objective), objective(s.Objective)))
		}
		// A service without data has no availability (never 0%, unless
		// policy.unknown: down made it one).
		if was, now := o.ServiceSummary.availText(s.Objective), s.availText(s.Objective); was != now {
			d = append(d, fmt.Sprintf("availability %s -> %s", was, now))
		}
		if math.Abs(o.DowntimeSeconds-s.DowntimeSeconds) >= 1 {
			d = append(d, fmt.Sprintf("downtime %s -> %s", seconds(o.DowntimeSeconds), seconds(s.DowntimeSeconds)))
		}
		if o.MaintenanceSeconds != nil && math.Abs(*o.MaintenanceSeconds-s.MaintenanceSeconds) >= 1 {
			d = append(d, fmt.Sprintf("maintenance %s -> %s", seconds(*o.MaintenanceSeconds), seconds(s.MaintenanceSeconds)))
		}
		if o.UnknownSeconds != nil && math.Abs(*o.UnknownSeconds-s.UnknownSeconds) >= 1 {
			d = append(d, fmt.Sprintf("unknown %s -> %s", seconds(*o.UnknownSeconds), seconds(s.UnknownSeconds)))
		}
		if o.Incidents != s.Incidents {
			d = append(d, fmt.Sprintf("incidents %d -> %d", o.Incidents, s.Incidents))
		}
		if o.Windows != s.Windows {
			d = append(d, fmt.Sprintf("windows %d -> %d", o.Windows, s.Windows))
		}
		if credit(o.CreditPercent) != credit(s.CreditPercent) {
			d = append(d, fmt.Sprintf("SLA credit %s -> %s", credit(o.CreditPercent), credit(s.CreditPercent)))
		}
		if len(d) > 0 {
			lines = append(lines, s.Name+": "+strings.Join(d, ", "))
		}
		delete(byName, s.Name)
	}
	for name := range byName {
		lines = append(lines, name+": no longer in the report")
	}
	if len(lines) == 0 {
		// Name the parts that changed, when the previous version kept
		// their digests.
		var parts []string
		if old.Details != nil {
			// In the form the previous version kept them: a version
			// made before the canonical form digested the report's JSON
			// parts as the release that made it wrote them (one of
			// legacyForms: the one that names the fewest parts), so
			// that the keys added since and the policy's rewording are
			// not named as changed.
			// A part the previous version's figures did not itemise
			// (one named since: its credit tiers, daily figures) is not
			// known to have changed, so it is not named; a service's
			// parts all missing is a new service, named above.
			changed := func(cur map[string]string) []string {
				var out []string
				for _, k := range slices.Sorted(maps.Keys(cur)) {
					if d, ok := old.Details[k]; ok && d != cur[k] {
						out = append(out, k)
					}
				}
				return out
			}
			if old.DetailsForm == canonDetailsForm {
				if cur, err := canonDetails(cfg, rep); err == nil {
					parts = changed(cur)
				}
			} else {
				for i, f := range legacyForms {
					m := measured(cfg, rep)
					if f != nil {
						m = f(m)
					}
					if c := changed(detailsOf(m)); i == 0 || len(c) < len(parts) {
						parts = c
					}
				}
			}
		}
		if len(parts) == 0 {
			return fmt.Sprintf("version %d: figures as in version %d; details changed (the figures kept of version %d do not itemise the part)", prev+1, prev, prev)
		}
		return fmt.Sprintf("version %d: figures as in version %d; details changed: %s", prev+1, prev, strings.Join(parts, "; "))
	}
	return fmt.Sprintf("version %d, changed from version %d: %s", prev+1, prev, strings.Join(lines, "; "))
}
