package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/report"
)

// canonForm prefixes the digest of a version's canonical figures
// (canonical; store.ReportVersion.Canon). A version without one, made
// before, is compared by its Digest, of the report's whole JSON
// (legacyDigests).
const canonForm = "c1:"

// canonDetailsForm names the form in figures.json's details_form
// (canonDetails).
const canonDetailsForm = "c1"

// canonWindow are the keys of a window (report.Window) that count, wherever
// the report lists windows.
var canonWindow = []string{
	"service", "flow", "function", "kind", "start", "end", "start_cut", "end_cut", "duration_seconds", "maintenance_seconds",
	"cause_step", "locations[]", "error", "confirmed", "start_uncertainty_seconds", "end_uncertainty_seconds",
	"start_uncertainty_later_seconds", "end_uncertainty_later_seconds", "causes[].step", "causes[].error", "causes[].from", "causes[].to",
	"quorum_never_surely_down", "split_from",
}

// canonKeys are the JSON keys of report.json, by path ("services[].runs"),
// whose values count in form c1: every key the report had when the form was
// made but Generated, Title (the period in words: From and To count), each
// flow's Retired (see figures) and the policy's Text (its prose: the values
// it states are the policy's other keys and accounting's). The reasons of
// unknown stretches and of a withheld credit count as codes (canonCodes). A key the report gains later is not one of them, so a
// newer slaprobe that adds a key makes the same digest of the same month;
// TestCanonKeysClassified fails until a new key is named here (which is a
// new form, c2: see canonForm) or in notCounted.
var canonKeys = func() map[string]bool {
	keys := []string{
		"from", "to", "timezone", "location", "provisional",
		"policy.down_after", "policy.up_after", "policy.unknown", "policy.degraded", "policy.quorum", "policy.flap_gap_seconds", "policy.min_coverage",
		"services[].name", "services[].objective", "services[].availability", "services[].no_data", "services[].maintenance_only",
		"services[].run_success_ratio", "services[].runs", "services[].confirm_runs", "services[].period_seconds", "services[].uptime_seconds",
		"services[].downtime_seconds", "services[].degraded_seconds", "services[].unknown_seconds", "services[].maintenance_seconds",
		"services[].incidents", "services[].mttr_seconds", "services[].mtbf_seconds", "services[].mttd_seconds",
		"services[].longest_outage_seconds", "services[].average_outage_seconds",
		"services[].error_budget.allowed_seconds", "services[].error_budget.consumed_seconds", "services[].error_budget.remaining_seconds",
		"services[].error_budget.remaining_ratio", "services[].error_budget.burn_rate",
		"services[].credit_percent", "services[].coverage", "services[].credit_withheld",
		"services[].credit_tiers[].below", "services[].credit_tiers[].credit_percent",
		"services[].p50", "services[].p95", "services[].p99",
		"services[].steps[].flow", "services[].steps[].step", "services[].steps[].function", "services[].steps[].count",
		"services[].steps[].p50", "services[].steps[].p95", "services[].steps[].p99",
		"services[].flows[].name", "services[].flows[].availability", "services[].flows[].no_data", "services[].flows[].maintenance_only",
		"services[].flows[].run_success_ratio", "services[].flows[].runs", "services[].flows[].confirm_runs",
		"services[].flows[].downtime_seconds", "services[].flows[].degraded_seconds", "services[].flows[].unknown_seconds",
		"services[].flows[].function_runs[].function", "services[].flows[].function_runs[].runs",
		"services[].daily[].date", "services[].daily[].availability", "services[].daily[].seconds", "services[].daily[].downtime_seconds",
		"services[].daily[].unknown_seconds", "services[].daily[].maintenance_seconds", "services[].daily[].maintenance_only",
		"services[].incident_list[].start", "services[].incident_list[].end", "services[].incident_list[].start_cut",
		"services[].incident_list[].end_cut", "services[].incident_list[].duration_seconds", "services[].incident_list[].functions[]",
		"services[].incident_list[].parts",
		"services[].unknown[].flow", "services[].unknown[].start", "services[].unknown[].end", "services[].unknown[].duration_seconds",
		"services[].unknown[].reason",
		"services[].maintenance[].flow", "services[].maintenance[].start", "services[].maintenance[].end",
		"services[].maintenance[].duration_seconds", "services[].maintenance[].reason",
		"services[].reconciliation[].id", "services[].reconciliation[].title", "services[].reconciliation[].timeline",
		"services[].reconciliation[].functions[]", "services[].reconciliation[].declared_start", "services[].reconciliation[].declared_end",
		"services[].reconciliation[].measured_start", "services[].reconciliation[].measured_end",
		"services[].reconciliation[].start_delta_seconds", "services[].reconciliation[].end_delta_seconds",
		"services[].reconciliation[].start_cut", "services[].reconciliation[].end_cut", "services[].reconciliation[].detected",
		"services[].reconciliation[].below_quorum_start", "services[].reconciliation[].below_quorum_end",
		"services[].reconciliation[].below_quorum_start_delta_seconds", "services[].reconciliation[].below_quorum_end_delta_seconds",
		"services[].reconciliation[].below_quorum_start_cut", "services[].reconciliation[].below_quorum_end_cut",
		"services[].reconciliation[].first_notice", "services[].reconciliation[].notice_delay_seconds",
		"services[].functions[].name", "services[].functions[].availability", "services[].functions[].maintenance_only",
		"services[].functions[].downtime_seconds", "services[].functions[].degraded_seconds", "services[].functions[].unknown_seconds",
		"services[].functions[].daily[].date", "services[].functions[].daily[].availability", "services[].functions[].daily[].maintenance_only",
		"services[].functions[].daily[].downtime_seconds", "services[].functions[].daily[].degraded_seconds",
		"services[].functions[].daily[].unknown_seconds", "services[].functions[].windows[]",
		// What the policy's prose states beyond its values (canonical).
		"accounting.flows[].service", "accounting.flows[].flow", "accounting.flows[].down_after", "accounting.flows[].up_after",
		"accounting.confirm_runs", "accounting.sessions[].service", "accounting.sessions[].flow", "accounting.sessions[].ttl_seconds",
	}
	for _, w := range []string{"windows[]", "services[].windows[]", "services[].below_quorum[]", "services[].undeclared[]",
		"services[].reconciliation[].windows[]", "services[].reconciliation[].below_quorum[]"} {
		for _, k := range canonWindow {
			keys = append(keys, w+"."+k)
		}
	}
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}()

// accounting is what the policy's sentences say of the config beyond the
// policy's values (report.Policy): the measured flows whose own down_after
// or up_after differ from the defaults, with theirs, whether any of them
// makes confirm runs, and those with a session, with its ttl. A change of either is a change of the month, as the prose
// was; a rewording of the prose is not.
type accounting struct {
	Flows       []flowAccounting `json:"flows"`
	ConfirmRuns bool             `json:"confirm_runs"`
	// Sessions are the measured flows with a session and its ttl, which
	// bounds how early a login window may have begun.
	Sessions []sessionAccounting `json:"sessions"`
}

type flowAccounting struct {
	Service   string `json:"service"`
	Flow      string `json:"flow"`
	DownAfter int    `json:"down_after"`
	UpAfter   int    `json:"up_after"`
}

type sessionAccounting struct {
	Service    string  `json:"service"`
	Flow       string  `json:"flow"`
	TTLSeconds float64 `json:"ttl_seconds"`
}

// accountingOf is the accounting of cfg's flows that m (a report as
// measured) lists: a flow without runs in the period is not in m, nor in
// the policy measured states.
func accountingOf(cfg *config.Config, m *report.Report) accounting {
	a := accounting{Flows: []flowAccounting{}, Sessions: []sessionAccounting{}}
	listed := map[[2]string]bool{}
	for _, s := range m.Services {
		for _, f := range s.Flows {
			listed[[2]string{s.Name, f.Name}] = true
		}
	}
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			if !listed[[2]string{s.Name, f.Name}] {
				continue
			}
			fa := flowAccounting{Service: s.Name, Flow: f.Name, DownAfter: f.DownAfter, UpAfter: f.UpAfter}
			if fa.DownAfter < 1 {
				fa.DownAfter = m.Policy.DownAfter
			}
			if fa.UpAfter < 1 {
				fa.UpAfter = m.Policy.UpAfter
			}
			if fa.DownAfter != m.Policy.DownAfter || fa.UpAfter != m.Policy.UpAfter {
				a.Flows = append(a.Flows, fa)
			}
			a.ConfirmRuns = a.ConfirmRuns || f.ConfirmEvery > 0
			if f.Session != nil {
				ttl := f.Session.TTL
				if ttl <= 0 {
					ttl = config.DefaultSessionTTL
				}
				a.Sessions = append(a.Sessions, sessionAccounting{Service: s.Name, Flow: f.Name, TTLSeconds: ttl.Seconds()})
			}
		}
	}
	slices.SortFunc(a.Sessions, func(x, y sessionAccounting) int {
		return strings.Compare(x.Service+"\x00"+x.Flow, y.Service+"\x00"+y.Flow)
	})
	slices.SortFunc(a.Flows, func(x, y flowAccounting) int {
		return strings.Compare(x.Service+"\x00"+x.Flow, y.Service+"\x00"+y.Flow)
	})
	return a
}

// canonical is the report's figures in form c1: the report as measured
// (measured, in name order), its Generated, Retired and policy prose left
// out, reduced to the keys canonKeys names, with the config's accounting
// beside it; keys sorted, numbers as report.json writes them.
func canonical(cfg *config.Config, r *report.Report) ([]byte, error) {
	c := *r
	c.Generated = time.Time{}
	m := inNameOrder(measured(cfg, &c))
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return project(b, map[string]any{"accounting": accountingOf(cfg, m)})
}

// canonCoded are the keys whose values the canonical form gives as codes
// (canonCodes): the reasons the report states in words, an unknown
// stretch's and a withheld credit's.
var canonCoded = map[string]bool{"services[].unknown[].reason": true, "services[].credit_withheld": true}

// canonCodes are the codes of the values of canonCoded's keys, by this
// slaprobe's wording of each: a release that words one otherwise gives it
// the same code, so the same month makes the same digest.
var canonCodes = map[string]string{
	report.ReasonNoRun:         "no_run",
	report.ReasonPruned:        "pruned",
	report.CreditBelowCoverage: "coverage",
}

// canonCode is reason's code (canonCodes), or reason when it has none.
func canonCode(reason string) string {
	if c, ok := canonCodes[reason]; ok {
		return c
	}
	return reason
}

// project reduces the JSON object b to the keys canonKeys names, with the
// keys of extra added, and writes it again with its keys sorted.
func project(b []byte, extra map[string]any) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	for k, x := range extra {
		xb, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		d := json.NewDecoder(bytes.NewReader(xb))
		d.UseNumber()
		var xv any
		if err := d.Decode(&xv); err != nil {
			return nil, err
		}
		v[k] = xv
	}
	return json.Marshal(keep(v, ""))
}

// keep is v with only the keys under path that canonKeys names (or leads
// to), the values of canonCoded's keys as their codes.
func keep(v any, path string) any {
	switch x := v.(type) {
	case map[string]any:
		if canonKeys[path] && path != "" {
			return x // a key kept whole (a list of values)
		}
		out := map[string]any{}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if canonKeys[p] || canonPrefix[p] {
				out[k] = keep(e, p)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = keep(e, path+"[]")
		}
		return out
	case string:
		if canonCoded[path] {
			return canonCode(x)
		}
		return x
	default:
		return v
	}
}

// canonPrefix are the paths that lead to a key of canonKeys.
var canonPrefix = func() map[string]bool {
	m := map[string]bool{}
	for k := range canonKeys {
		for i := range len(k) {
			if k[i] == '.' {
				m[strings.TrimSuffix(k[:i], "[]")] = true
			}
		}
		m[strings.TrimSuffix(k, "[]")] = true
	}
	return m
}()

// canonDigest is the digest of the report's canonical figures, in its form.
func canonDigest(cfg *config.Config, r *report.Report) (string, error) {
	b, err := canonical(cfg, r)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return canonForm + hex.EncodeToString(sum[:]), nil
}

// legacyForms are the ways the releases before the canonical form wrote
// the report that this slaprobe writes otherwise: as it is (nil: the
// builds just before the form), as stop 39 (55c704a) wrote it (asStop39)
// and as stop 38 (16e0971) did (asBefore).
var legacyForms = []func(*report.Report) *report.Report{nil, asStop39, asBefore}

// legacyDigests are the digests versions made before the canonical form
// stored, computed from r as each earlier form had it (figures), and from
// r as each release before the canonical form wrote it (legacyForms):
// without the keys it lacked and with its wording of the policy. A version
// whose digest is one of them is unchanged.
func legacyDigests(cfg *config.Config, r *report.Report) ([]string, error) {
	var out []string
	for _, f := range legacyForms {
		fig, prev, legacy, err := figuresAs(cfg, r, f)
		if err != nil {
			return nil, err
		}
		for _, b := range [][]byte{fig, prev, legacy} {
			sum := sha256.Sum256(b)
			out = append(out, hex.EncodeToString(sum[:]))
		}
	}
	return out, nil
}

// runSuccessSaid is where the policy sentence on availability ended before
// it said what the run success ratio counts.
const runSuccessSaid = "the run success ratio is shown beside it"

// sessionSaid begins the policy's sentence on sessions (0547b0b), which
// the slaprobe before the canonical form did not print.
const sessionSaid = "A function is judged only from the runs that exercised it"

// asStop39 is a copy of r as stop 39 (55c704a), the release before the
// canonical form, wrote it: without the policy's sentence on sessions,
// which it did not print (a month with a session flow it made got
// "version 2: figures as in version 1; details changed: messaging:
// reconciliation with declared incidents; messaging: run counts;
// messaging: windows; policy" without it). Its report had every other key
// and sentence r has. r is not changed.
func asStop39(r *report.Report) *report.Report {
	c := *r
	c.Policy.Text = slices.DeleteFunc(slices.Clone(r.Policy.Text), func(t string) bool { return strings.HasPrefix(t, sessionSaid) })
	return &c
}

// asBefore is a copy of r as stop 38 (16e0971) wrote it: without windows' maintenance_seconds and flows'
// function_runs, which it did not have, with its policy sentence on
// availability, which ended at "shown beside it.", and without the
// policy's sentence on sessions. r is not changed.
func asBefore(r *report.Report) *report.Report {
	c := *r
	c.Policy.Text = nil
	for _, t := range r.Policy.Text {
		if strings.HasPrefix(t, sessionSaid) {
			continue
		}
		if strings.HasPrefix(t, "Availability is up time / (") {
			if j := strings.Index(t, runSuccessSaid+":"); j >= 0 {
				t = t[:j+len(runSuccessSaid)] + "."
			}
		}
		c.Policy.Text = append(c.Policy.Text, t)
	}
	noMaint := func(ws []report.Window) []report.Window {
		if ws == nil {
			return nil
		}
		ws = slices.Clone(ws)
		for i := range ws {
			ws[i].MaintenanceSeconds = 0
		}
		return ws
	}
	c.Windows = noMaint(r.Windows)
	c.Services = slices.Clone(r.Services)
	for i := range c.Services {
		s := &c.Services[i]
		s.Windows, s.BelowQuorum, s.Undeclared = noMaint(s.Windows), noMaint(s.BelowQuorum), noMaint(s.Undeclared)
		s.Reconciliation = slices.Clone(s.Reconciliation)
		for j := range s.Reconciliation {
			s.Reconciliation[j].Windows = noMaint(s.Reconciliation[j].Windows)
			s.Reconciliation[j].BelowQuorum = noMaint(s.Reconciliation[j].BelowQuorum)
		}
		s.Flows = slices.Clone(s.Flows)
		for j := range s.Flows {
			s.Flows[j].FunctionRuns = nil
		}
	}
	return &c
}
