package config

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/internal/redact"
)

// Service returns the service with the given name, or nil.
func (c *Config) Service(name string) *Service {
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

// Flow returns the flow with the given name and its service, or nils.
func (c *Config) Flow(name string) (*Service, *Flow) {
	for i := range c.Services {
		s := &c.Services[i]
		for j := range s.Flows {
			if s.Flows[j].Name == name {
				return s, &s.Flows[j]
			}
		}
	}
	return nil, nil
}

// Redact replaces every form of every secret value in s (raw, quoted,
// JSON-escaped, URL-encoded, base64: see internal/redact) with "***".
// Values shorter than redact.MinLen are left alone; ShortSecrets lists them.
func (c *Config) Redact(s string) string {
	if c == nil || len(c.Secrets) == 0 || s == "" {
		return s
	}
	return c.Redactor().Redact(s)
}

// Redactor returns a redactor of the config's secret values.
func (c *Config) Redactor() *redact.Redactor { return c.RedactorWith() }

// RedactorWith returns one redactor of the config's secret values and of
// extra (a publisher's own credentials). One, not the config's after
// extra's: occurrences that overlap are masked together only within one
// redactor, so redacting one set after the other left "***xyz9876" of
// "abcd1234xyz9876" with "abcd1234" in extra and "4xyz9876" a secret.
func (c *Config) RedactorWith(extra ...string) *redact.Redactor {
	var vals []string
	if c != nil {
		vals = make([]string, 0, 2*len(c.Secrets)+len(extra))
		for _, v := range c.Secrets {
			vals = append(vals, v, strings.TrimSpace(v))
		}
	}
	return redact.New(append(vals, extra...)...)
}

// ShortSecrets returns the references (env:NAME, file:PATH, never the
// values) of the non-empty secrets too short to be redacted from messages,
// sorted.
func (c *Config) ShortSecrets() []string {
	var out []string
	for ref, v := range c.Secrets {
		if v != "" && len(v) < redact.MinLen {
			out = append(out, ref)
		}
	}
	sort.Strings(out)
	return out
}

// MaxInterval returns the longest interval of the config's flows (0 when it
// has none).
func (c *Config) MaxInterval() time.Duration {
	var m time.Duration
	for i := range c.Services {
		for j := range c.Services[i].Flows {
			m = max(m, c.Services[i].Flows[j].Interval)
		}
	}
	return m
}

// Warning is something check and run point out in a config they accept.
type Warning struct {
	File string // the timeline file it is in; "" for the config
	Line int    // in the config file, or File (0: the key is not in it)
	Key  string // as in errors: maintenance[1].service
	Msg  string
}

// Warnings returns what is allowed but probably not meant, driver being the
// store the results go to (the config's storage.driver, or what --db
// chose):
//   - the default location on a PostgreSQL store: probers that share the
//     database must each have their own location, or their results merge
//     into one location's and the quorum counts them once;
//   - a callback listener on every interface without webhooks.public_url:
//     runs would give targets an address no other host can reach;
//   - maintenance windows that name a service the config does not have
//     (file order). Such a window is allowed (it may be kept for a service
//     no longer probed) but excludes nothing, so a misspelt name would
//     silently leave planned downtime in the denominator;
//   - declared incidents (in the timelines' files) whose functions no flow
//     of their service probes: the report cannot measure them, and an
//     incident none of whose functions is probed reads "not detected";
//   - times in a timeline whose UTC offset is not the one its timezone
//     had then (other than UTC): standard and daylight time confused;
//   - maintenance times whose UTC offset is one the config's timezone has
//     within a year but not at that instant (maintenanceOffsets);
//   - secret references (${env:NAME}, ${file:PATH}) that resolved to
//     nothing, at their first use;
//   - polls with an expect.latency and no since: the objective, the
//     poll's own time before poll.since, is now send-to-receive;
//   - a stream's session_expired (other than {}) in a flow without a
//     session: no new login follows it, it only labels errors;
//   - repeat: false on a GET, HEAD, OPTIONS or TRACE (a request, an sse
//     stream), which Go's HTTP client sends again by itself on a reused
//     connection that closed (not a WebSocket step's: its messages go
//     once, on the connection the handshake opened);
//   - a flow with teardown steps whose timeout is more than half its
//     interval: a run can last twice the timeout and outlast the interval.
func (c *Config) Warnings(driver string) []Warning {
	var out []Warning
	out = append(out, c.emptySecrets...)
	out = append(out, c.pollLatency...)
	out = append(out, c.expiredNoSession...)
	out = append(out, c.noRepeatResent...)
	out = append(out, c.longTeardown...)
	if driver == "postgres" && c.Location == DefaultLocation {
		out = append(out, Warning{Key: "location", Msg: fmt.Sprintf("not set (results are stored as location %q): every prober that shares the PostgreSQL store needs a location of its own, or their results merge into one location's and the quorum counts them once", DefaultLocation)})
	}
	if w := c.Webhooks; (w.Line != 0 || c.UsesWebhooks()) && w.PublicURL == "http://"+w.Listen+"/webhooks" {
		if host, _, err := net.SplitHostPort(w.Listen); err == nil && wildcard(host) {
			out = append(out, Warning{Line: w.Line, Key: "webhooks.public_url", Msg: fmt.Sprintf(
				"not set, so runs give targets %s/..., an address no other host can reach (webhooks.listen %q is every interface): set the address targets call", w.PublicURL, w.Listen)})
		}
	}
	for i, m := range c.Maintenance {
		if m.Service != "" && m.Service != "*" && c.Service(m.Service) == nil {
			names := make([]string, len(c.Services))
			for j := range c.Services {
				names[j] = c.Services[j].Name
			}
			out = append(out, Warning{Line: m.Line, Key: fmt.Sprintf("maintenance[%d].service", i),
				Msg: fmt.Sprintf("%q is not a service of this config (%s), so the window excludes nothing", m.Service, strings.Join(names, ", "))})
		}
	}
	out = append(out, c.maintenanceOffsets()...)
	for _, tl := range c.Timelines {
		out = append(out, tl.warnings...)
		for i, inc := range tl.Incidents {
			if w, ok := c.unprobed(inc); ok {
				w.File, w.Line, w.Key = tl.File, cmp.Or(inc.FunctionsLine, inc.Line), fmt.Sprintf("incidents[%d].functions", i)
				out = append(out, w)
			}
		}
	}
	return out
}

// maintenanceOffsets warns of a maintenance start or end written with an
// offset the config's timezone has within a year of it but not at that
// instant: standard and daylight time confused ("02:00 EST" for a July
// night in New York, 03:00 EDT) moves the planned window an hour, so the
// report excludes the wrong hour. Unlike a timeline's timezone, which says
// how the provider announced its times, the config's is where reports draw
// days and months: a window planned in another zone (a vendor's +09:00), or
// in UTC, is not suspect.
func (c *Config) maintenanceOffsets() []Warning {
	if c.Loc == nil {
		return nil
	}
	var out []Warning
	for i, m := range c.Maintenance {
		for _, e := range []struct {
			key  string
			t    time.Time
			line int
		}{{"start", m.Start, m.StartLine}, {"end", m.End, m.EndLine}} {
			if e.t.IsZero() {
				continue
			}
			if _, off := e.t.Zone(); !offsetsNear(c.Loc, e.t, off) {
				continue
			}
			if msg, ok := offsetMismatch(e.t, c.Loc, "the config's timezone", "the window was planned"); ok {
				out = append(out, Warning{Line: e.line, Key: fmt.Sprintf("maintenance[%d].%s", i, e.key), Msg: msg})
			}
		}
	}
	return out
}

// Warnings returns what the timeline's file accepts but probably does not
// mean: its times whose UTC offset is not the one its timezone had then
// (other than UTC). A config's Warnings include them; demo and platform,
// which load timelines without a config, print them themselves.
func (t *Timeline) Warnings() []Warning { return t.warnings }

// TimelineWarnings is what check says of the incidents of a timeline file
// this config does not name (one given to demo --timeline), as warnings:
// an incident of a service the config does not have (an error for a
// timeline it names) is replayed as a fault but reconciled with nothing,
// so the report would leave it out without a word; one naming functions
// no flow of its service probes is warned of as for the config's own.
func (c *Config) TimelineWarnings(tl *Timeline) []Warning {
	var out []Warning
	for i, inc := range tl.Incidents {
		key := fmt.Sprintf("incidents[%d]", i)
		if c.Service(inc.Service) == nil {
			names := make([]string, len(c.Services))
			for j := range c.Services {
				names[j] = c.Services[j].Name
			}
			out = append(out, Warning{File: tl.File, Line: cmp.Or(inc.ServiceLine, inc.Line), Key: key + ".service", Msg: fmt.Sprintf(
				"service %q is not in the config (%s): incident %s is reconciled with nothing, and the report does not list it", inc.Service, strings.Join(names, ", "), inc.ID)})
			continue
		}
		if w, ok := c.unprobed(inc); ok {
			w.File, w.Line, w.Key = tl.File, cmp.Or(inc.FunctionsLine, inc.Line), key+".functions"
			out = append(out, w)
		}
	}
	return out
}

// unprobed is the warning for an incident some of whose functions no flow
// of its service probes.
func (c *Config) unprobed(inc Incident) (Warning, bool) {
	svc := c.Service(inc.Service)
	if svc == nil {
		return Warning{}, false
	}
	probed := svc.Functions()
	var missing []string
	for _, fn := range inc.Functions {
		if !slices.Contains(probed, fn) {
			missing = append(missing, strconv.Quote(fn))
		}
	}
	if len(missing) == 0 {
		return Warning{}, false
	}
	verb, what := "is", "measure it there"
	if len(missing) > 1 {
		verb = "are"
	}
	if len(missing) == len(inc.Functions) {
		what = "detect this incident"
	}
	return Warning{Msg: fmt.Sprintf("%s %s probed by no flow of service %s (%s): the report cannot %s",
		strings.Join(missing, ", "), verb, svc.Name, strings.Join(probed, ", "), what)}, true
}
