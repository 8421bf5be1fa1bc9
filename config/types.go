package config

import (
	"time"
)

// Config is a loaded and validated slaprobe configuration. Every field has its
// default filled in by Load; nothing here changes after loading (runtime state
// lives in the daemon, never on the config).
type Config struct {
	File     string         // path the config was read from ("" when built in)
	Location string         // this prober's location; every result carries it
	Timezone string         // IANA name, e.g. Asia/Seoul
	Loc      *time.Location // Timezone, loaded
	Listen   string         // address for /metrics, /healthz and /api/v1/...

	Storage     Storage
	Defaults    Defaults
	Policy      Policy
	Services    []Service
	Maintenance []Maintenance
	Alerting    Alerting
	Report      ReportOptions
	Status      Status
	Reports     Reports

	// Timelines holds the declared-incident files named by the services,
	// loaded and validated, in the order they were named.
	Timelines []*Timeline

	// Secrets maps a secret reference ("env:NAME" or "file:PATH") to its value.
	// Templates keep the reference; the runner resolves it when it builds a
	// request and removes every value in here from anything it reports.
	Secrets map[string]string
}

// Storage says where results are kept.
type Storage struct {
	Driver    string        // "sqlite" (default) or "postgres"
	DSN       string        // file path for sqlite, URL for postgres
	Retention time.Duration // raw results older than this are pruned; "400d" is accepted
	// MinuteRetention: minute rollups older than this are pruned (default:
	// Retention). HourRetention: hour rollups, and windows that ended,
	// older than this are pruned (default DefaultHourRetention, 13 months).
	MinuteRetention, HourRetention time.Duration
}

// Defaults apply to every flow that does not set its own.
type Defaults struct {
	Interval     time.Duration // default 60s
	Timeout      time.Duration // whole-run timeout, default 10s
	DownAfter    int           // default 2
	UpAfter      int           // default 1
	MaxBodyBytes int64         // response body read limit, default 1 MiB
	MaxRedirects int           // default 5
	TLS          TLS
}

// TLS options for the probe's HTTP client.
type TLS struct {
	CAFile             string
	ServerName         string
	InsecureSkipVerify bool // only when asked for; never the default
}

// Policy is the accounting policy, printed in words in every report.
type Policy struct {
	Unknown  string // "exclude" (default) or "down"
	Degraded string // "up" (default) or "down"
	Quorum   Quorum
	FlapGap  time.Duration // windows closer than this are one incident; default 5m
}

// Quorum says how many locations must agree that a flow is down.
type Quorum struct {
	Mode string // "majority" (default), "all" or "count"
	N    int    // with Mode "count"
}

// Service is a product users depend on.
type Service struct {
	Name      string
	Objective float64  // monthly availability objective, in (0,1)
	Credits   []Credit // first match from the top
	Timelines []string // declared-incident files, as written in the config
	Flows     []Flow
	Line      int
}

// Credit is one SLA credit tier: availability below Below earns CreditPercent.
type Credit struct {
	Below         float64
	CreditPercent float64
}

// Flow is a named multi-step journey against one service.
type Flow struct {
	Name      string
	Service   string // the owning service's name
	Interval  time.Duration
	Timeout   time.Duration // whole-run timeout
	DownAfter int
	UpAfter   int
	// MaxBodyBytes, MaxRedirects and TLS are the defaults' unless the flow
	// sets its own.
	MaxBodyBytes int64
	MaxRedirects int
	TLS          TLS
	Vars         []Var // in the order written; a var may use the ones before it
	Steps        []Step
	Line         int
}

// Functions returns the distinct functions of the flow's steps, in step order.
func (f *Flow) Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range f.Steps {
		if !seen[s.Function] {
			seen[s.Function] = true
			out = append(out, s.Function)
		}
	}
	return out
}

// Var is a flow variable. Value is a template: it may contain ${...}.
type Var struct {
	Name  string
	Value string
}

// Step is one request (or poll) of a flow, bound to one function.
type Step struct {
	Name     string
	Function string
	Timeout  time.Duration // 0: bounded only by the flow's timeout
	Request  Request
	Poll     *Poll
	Expect   Expect
	Extract  []Extract // in the order written
	Line     int
}

// Request is an HTTP request template. Every string may contain ${...}.
type Request struct {
	Method  string            // default GET
	URL     string            // required
	Headers map[string]string // values are templates
	// At most one body: JSON (any YAML value; its strings are templates),
	// Form (url-encoded), or Body (raw text).
	JSON any
	Form map[string]string
	Body string
}

// Poll repeats a step until its expectations hold, every Every, for at most
// Within; the step fails at the deadline with the last failure.
type Poll struct {
	Every  time.Duration
	Within time.Duration
}

// Expect holds a step's assertions. A failed assertion fails the step; a
// latency over Latency (when set) makes an otherwise passing step degraded.
type Expect struct {
	Status   []int         // allowed statuses; empty means 200-399
	Latency  time.Duration // objective; 0 = none
	JSONPath []PathMatch   // in the order written
	Body     *Matcher      // on the whole body as text
	Headers  []HeaderMatch // in the order written
}

// PathMatch asserts on the values a JSONPath expression selects.
type PathMatch struct {
	Path    string
	Matcher Matcher
}

// HeaderMatch asserts on a response header.
type HeaderMatch struct {
	Name    string
	Matcher Matcher
}

// Matcher is one assertion on a value. Exactly one field is set. String
// operands are templates.
//
//   - Equals: the value (or, for a JSONPath that selects several, one of them)
//     equals the operand, compared as JSON scalars or text.
//   - Contains: a selected array holds the operand, or a text contains it.
//   - Exists: the path selects something (true) or nothing (false).
//   - GT/GE/LT/LE: numeric comparison.
//   - Matches: a regular expression (RE2) matches the text.
type Matcher struct {
	Equals   *string
	Contains *string
	Exists   *bool
	GT, GE   *float64
	LT, LE   *float64
	Matches  string
}

// Extract sets a variable from a response. Exactly one source is set.
type Extract struct {
	Var      string
	JSONPath string // first value selected
	Regex    string // first capture group (or the whole match) over the body
	Header   string // the header's first value
}

// Maintenance is a planned window excluded from the denominator.
type Maintenance struct {
	Service string // "" or "*": every service
	Start   time.Time
	End     time.Time
	Reason  string
	Line    int
}

// Alerting configures the Alertmanager push.
type Alerting struct {
	AlertmanagerURLs []string
	Resend           time.Duration // default 1m
	RunbookURL       string        // "{service}" is replaced by the service name
	SeverityDown     string        // default "page"
	SeverityDegraded string        // default "ticket"
}

// ReportOptions configure report rendering.
type ReportOptions struct {
	Font string // a TTF file that covers every name in the report; default: the bundled NanumGothic
}

// Timeline is a provider's declared incidents; also a fault schedule for the
// demo platform.
type Timeline struct {
	File      string
	Name      string
	Title     string
	Timezone  string
	Source    string
	Note      string
	Incidents []Incident
}

// Incident is one declared incident.
type Incident struct {
	ID        string
	Title     string
	Service   string
	Functions []string
	Start     time.Time
	End       time.Time // zero while ongoing
	Mode      string    // down | error | slow | drop
	Rate      float64   // share of requests affected; default 1
	Latency   time.Duration
	Notices   []Notice
	Note      string
	Line      int
}

// Ongoing reports whether the incident has no declared end.
func (i *Incident) Ongoing() bool { return i.End.IsZero() }

// Notice is something the provider said, and when.
type Notice struct {
	At   time.Time
	Text string
}

// Fault modes of the demo platform.
const (
	ModeDown  = "down"
	ModeError = "error"
	ModeSlow  = "slow"
	ModeDrop  = "drop"
)
