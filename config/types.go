package config

import (
	"slices"
	"strings"
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
	Maintenance MaintenancePlan
	Alerting    Alerting
	Report      ReportOptions
	Status      Status
	Reports     Reports
	Webhooks    Webhooks

	// Timelines holds the declared-incident files named by the services,
	// loaded and validated, in the order they were named.
	Timelines []*Timeline

	// Secrets maps a secret reference ("env:NAME" or "file:PATH") to its value.
	// Templates keep the reference; the runner resolves it when it builds a
	// request and removes every value in here from anything it reports.
	Secrets map[string]string

	// emptySecrets are the warnings for secret references that resolved to
	// nothing, at their first use (Warnings).
	emptySecrets []Warning
	// pollLatency are the warnings for polls whose expect.latency is
	// checked against send-to-receive time by a since they do not write
	// (Warnings).
	pollLatency []Warning
	// expiredNoSession are the warnings for a stream's session_expired in
	// a flow without a session, where no new login follows it (Warnings).
	expiredNoSession []Warning
	// noRepeatResent are the warnings for repeat: false on a step whose
	// method Go's HTTP client sends again by itself (a request or sse
	// stream's GET, HEAD, OPTIONS, TRACE).
	noRepeatResent []Warning
	// longTeardown are the warnings for a flow with teardown steps whose
	// run can outlast its interval (twice its timeout is longer).
	longTeardown []Warning
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
	Interval  time.Duration // default 60s
	Timeout   time.Duration // whole-run timeout, default 10s
	DownAfter int           // default 2
	UpAfter   int           // default 1
	// ConfirmEvery, when ConfirmEverySet, is every flow's confirm_every (0:
	// off); unset, each flow gets ConfirmEveryFor(its interval).
	ConfirmEvery    time.Duration
	ConfirmEverySet bool
	MaxBodyBytes    int64 // response body read limit, default 1 MiB
	MaxRedirects    int   // default 5
	TLS             TLS
}

// TLS options for every connection a flow makes (requests, streams).
type TLS struct {
	CAFile             string
	ServerName         string
	InsecureSkipVerify bool   // only when asked for; never the default
	CertFile           string // client certificate (mTLS), PEM; with KeyFile
	KeyFile            string
}

// Policy is the accounting policy, printed in words in every report.
type Policy struct {
	Unknown  string // "exclude" (default) or "down"
	Degraded string // "up" (default) or "down"
	Quorum   Quorum
	FlapGap  time.Duration // windows closer than this are one incident; default 5m
	// MinCoverage (0..1; 0, the default, is off): a service whose runs
	// covered less than this share of the elapsed period, less maintenance,
	// gets no SLA credit figure (too little was measured to judge it).
	MinCoverage float64
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
	// ConfirmEvery is how often the flow re-runs while a failure (or a
	// recovery) is being confirmed and while it is down; 0: off.
	ConfirmEvery time.Duration
	// MaxBodyBytes, MaxRedirects and TLS are the defaults' unless the flow
	// sets its own.
	MaxBodyBytes int64
	MaxRedirects int
	TLS          TLS
	Vars         []Var // in the order written; a var may use the ones before it
	// Session, when set, holds steps (a login) whose extracted variables
	// are kept across runs for Session.TTL, or until a later step gets a
	// 401 or 403; then the session steps run again, once, in that run.
	Session *Session
	Steps   []Step
	// Teardown steps run after every run, failed or not (logout, delete
	// the test message). Their failures are reported apart and, unless a
	// step sets Counts, do not count against availability.
	Teardown []Step
	Line     int
}

// Session is a flow's login: steps whose extracted variables outlive a run.
type Session struct {
	TTL   time.Duration // default DefaultSessionTTL
	Steps []Step
}

// Functions returns the distinct functions of the service's flows, in
// config order.
func (s *Service) Functions() []string {
	var out []string
	for i := range s.Flows {
		for _, fn := range s.Flows[i].Functions() {
			if !slices.Contains(out, fn) {
				out = append(out, fn)
			}
		}
	}
	return out
}

// Functions returns the distinct functions of the flow's counted steps
// (session steps, steps, teardown steps that count), in run order.
func (f *Flow) Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range f.CountedSteps() {
		if !seen[s.Function] {
			seen[s.Function] = true
			out = append(out, s.Function)
		}
	}
	return out
}

// CountedSteps returns the steps whose results count against availability,
// in the order a run that logs in runs them: the session's steps, the
// steps, and the teardown steps that set Counts.
func (f *Flow) CountedSteps() []Step {
	if f.Session == nil && len(f.Teardown) == 0 {
		return f.Steps
	}
	var out []Step
	if f.Session != nil {
		out = append(out, f.Session.Steps...)
	}
	out = append(out, f.Steps...)
	for _, s := range f.Teardown {
		if s.Counts && s.When != WhenSessionEnd {
			out = append(out, s)
		}
	}
	return out
}

// Var is a flow variable. Value is a template: it may contain ${...}. A var
// with JWT set is a token signed at the start of every run instead.
type Var struct {
	Name  string
	Value string
	JWT   *JWT
}

// JWT is a JSON Web Token signed at the start of each run: iat is the run's
// start, exp is iat + ExpiresIn.
type JWT struct {
	Alg       string         // HS256 or RS256
	Key       string         // template: the HMAC secret, or a PEM RSA private key
	ExpiresIn time.Duration  // 0: no exp claim
	Claims    map[string]any // any YAML value; its strings are templates
}

// StepKind says what a step does.
type StepKind string

// Step kinds. A step holds exactly one of Request, WebSocket, SSE and Await.
const (
	KindRequest   StepKind = "request"
	KindWebSocket StepKind = "websocket"
	KindSSE       StepKind = "sse"
	KindAwait     StepKind = "await"
)

// Step is one request (or poll), stream or await of a flow, bound to one
// function.
type Step struct {
	Name      string
	Function  string
	Timeout   time.Duration // 0: bounded only by the flow's timeout
	Request   Request       // a request step: when WebSocket, SSE and Await are nil
	WebSocket *Stream       // opens a WebSocket that later await steps read
	SSE       *Stream       // opens a server-sent event stream
	Await     *Await        // waits for a message on a stream or a webhook
	Poll      *Poll
	Expect    Expect
	Extract   []Extract // in the order written
	Counts    bool      // a teardown step whose failure counts against availability
	// NoRepeat (repeat: false) says that the step is not sent again in a
	// run that logs in again and would try the steps again from before it
	// (a payment): the run ends instead (see docs/config.md, Sessions).
	NoRepeat bool
	// When says when a teardown step runs: "" (always: after every run)
	// or WhenSessionEnd (once, with the session's variables, when the
	// session is discarded: ttl passed, a 401/403, shutdown).
	When string
	Line int
}

// Teardown steps' when.
const (
	WhenAlways     = "always"
	WhenSessionEnd = "session_end"
)

// Kind returns what the step does.
func (s *Step) Kind() StepKind {
	switch {
	case s.WebSocket != nil:
		return KindWebSocket
	case s.SSE != nil:
		return KindSSE
	case s.Await != nil:
		return KindAwait
	}
	return KindRequest
}

// Reply answers a WebSocket message: one whose text is To (white space
// around it aside) is answered with the text frame Send and is not a
// message for the awaits. Hubs that ping at the application level want an
// answer (Centrifugo's JSON protocol pings with {} and closes a client that
// does not answer {} within its pong_timeout). Plain text, not templates.
type Reply struct {
	To, Send string
}

// Stream is a push stream a step opens: a WebSocket or an SSE stream. It
// stays open until the run ends; await steps read its messages. Every
// string is a template.
type Stream struct {
	URL          string
	Method       string            // SSE only; default GET
	Headers      map[string]string // values are templates
	Subprotocols []string          // WebSocket only
	Send         []string          // WebSocket only: text frames sent after connecting
	Reply        []Reply           // WebSocket only: messages answered by the reader, not queued
	Event        string            // SSE only: only events of this type are messages ("" all)
	Body         string            // SSE only: a request body (template), sent as is
	Format       string            // SSE only: "sse" (text/event-stream, the default) or "lines" (a message a line)
	// Limits: a larger message, more messages, or more bytes waiting for
	// an await than these fail the stream (and the awaits on it) with a
	// clear error. Defaults: the flow's MaxBodyBytes, DefaultMaxMessages,
	// DefaultMaxBufferedBytes.
	MaxMessageBytes  int64
	MaxMessages      int
	MaxBufferedBytes int64
	// SessionExpired says which in-protocol answers mean that the flow's
	// session is no longer valid (as an HTTP 401 does); nil: the defaults
	// (Centrifugo's: see docs/config.md).
	SessionExpired *SessionExpired
}

// SessionExpired is what a stream says when the session's token is no
// longer valid: a WebSocket close code, or a message that satisfies every
// JSONPath matcher. Both empty: nothing does.
type SessionExpired struct {
	CloseCodes []int // WebSocket only
	JSONPath   []PathMatch
}

// Await waits for the first message that satisfies the step's expect on a
// stream opened by an earlier step, or for a webhook callback to this run.
type Await struct {
	Stream  string       // the stream step's name; "" with Webhook
	Webhook *WebhookWait // a callback to ${webhook.url}
	// Since names the step whose start the latency is measured from
	// (send-to-receive); default: the step just before the await.
	Since string
}

// WebhookWait says which callbacks an await accepts.
type WebhookWait struct {
	Method string      // "" any
	HMAC   *HMACVerify // verify a signature before matching
}

// HMACVerify checks an HMAC-SHA256 signature over the raw callback body, as
// payment providers sign their callbacks.
type HMACVerify struct {
	Secret   string // template, normally a secret reference
	Header   string // the header that carries the signature
	Prefix   string // stripped from the header value first, e.g. "sha256="
	Encoding string // "hex" (default) or "base64"
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
	// Since names the step whose start a passing poll's latency is
	// measured from (send-to-receive, as an await's): an earlier step of
	// its list, or the step itself; default the step just before it (the
	// step itself when it is the first).
	Since string
}

// Expect holds a step's assertions. A failed assertion fails the step; a
// latency over Latency (when set) makes an otherwise passing step degraded.
type Expect struct {
	Status   []int         // allowed statuses; empty means 200-399 (101 for websocket, 200 for sse)
	Latency  time.Duration // objective; 0 = none
	JSONPath []PathMatch   // in the order written
	Body     *Matcher      // on the whole body as text
	Headers  []HeaderMatch // in the order written
	TLS      *TLSExpect    // certificate expiry objective
}

// TLSExpect makes a passing step degraded when the earliest certificate of
// the server's chain expires in less than MinDaysLeft days.
type TLSExpect struct {
	MinDaysLeft int
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
	// Bound is the GT/GE/LT/LE threshold as written: where the value and
	// the threshold read as one float64 (integers from 2^53 up), the
	// exact numbers decide.
	Bound   string
	Matches string
}

// Extract sets a variable from a response. Exactly one source is set.
type Extract struct {
	Var      string
	JSONPath string // first value selected
	Regex    string // first capture group (or the whole match) over the body
	Header   string // the header's first value
	Cookie   string // the value of the cookie of this name the run's jar sends to the response's URL
	// Secret marks the value a credential: it is redacted from messages
	// like a configured secret. Values used in an Authorization,
	// Proxy-Authorization or Cookie header are treated so without it.
	Secret bool
}

// Webhooks configures the callback listener: where it listens and the URL
// targets are told to call (${webhook.url} is PublicURL + "/" + a token
// unique to the run).
type Webhooks struct {
	Listen       string // default DefaultWebhookListen
	PublicURL    string // default "http://" + Listen + "/webhooks"
	MaxBodyBytes int64  // per callback; default 1 MiB
	Line         int    // 0 when the config has no webhooks block
}

// Maintenance is a planned window excluded from the denominator.
type Maintenance struct {
	Service string // "" or "*": every service
	Start   time.Time
	End     time.Time
	Reason  string
	Line    int
	// StartLine and EndLine are where start and end are written (for
	// their warnings).
	StartLine, EndLine int
}

// Alerting configures the Alertmanager push.
type Alerting struct {
	// AlertmanagerURLs are as written: they may hold secrets, which
	// ExpandSecrets fills in.
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
	// warnings are the times whose offset is not the one Timezone had at
	// that instant (offsetWarning), for Config.Warnings.
	warnings []Warning
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
	// ServiceLine is where service is written (the incident's line
	// without it), for the warnings about it.
	ServiceLine int
	// FunctionsLine is where functions is written (0 without it), for
	// the warnings about them.
	FunctionsLine int
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

// UsesWebhooks reports whether a run of the flow needs a webhook URL: a
// step awaits a webhook or a template refers to ${webhook.url}.
func (f *Flow) UsesWebhooks() bool {
	if f.Session != nil && anyUsesWebhook(f.Session.Steps) || anyUsesWebhook(f.Steps) || anyUsesWebhook(f.Teardown) {
		return true
	}
	for _, v := range f.Vars {
		if refersToWebhook(v.Value) || v.JWT != nil && anyRefersToWebhook(v.JWT.Claims, 0) {
			return true
		}
	}
	return false
}

// anyUsesWebhook reports whether a step of steps needs a webhook URL (it
// reads them in place: a copy of a 50,000-flow config's steps was 14 MB of
// a load's garbage, Config.UsesWebhooks asking every flow).
func anyUsesWebhook(steps []Step) bool {
	for i := range steps {
		if steps[i].usesWebhook() {
			return true
		}
	}
	return false
}

// UsesWebhooks reports whether any flow of the config needs a webhook URL.
func (c *Config) UsesWebhooks() bool {
	for i := range c.Services {
		for j := range c.Services[i].Flows {
			if c.Services[i].Flows[j].UsesWebhooks() {
				return true
			}
		}
	}
	return false
}

func (s *Step) usesWebhook() bool {
	return s.Await != nil && s.Await.Webhook != nil || s.refersTo(webhookRef)
}

// webhookRef is the name set of ${webhook.url} alone.
var webhookRef = map[string]bool{RefWebhookURL: true}

// refersTo reports whether a template of the step (its request's or
// stream's URL, headers, body, form, JSON, frames to send) refers to one of
// names.
func (s *Step) refersTo(names map[string]bool) bool {
	strs := []string{s.Request.URL, s.Request.Body}
	for _, v := range s.Request.Headers {
		strs = append(strs, v)
	}
	for _, v := range s.Request.Form {
		strs = append(strs, v)
	}
	for _, st := range []*Stream{s.WebSocket, s.SSE} {
		if st != nil {
			strs = append(append(strs, st.URL, st.Body), st.Send...)
			for _, v := range st.Headers {
				strs = append(strs, v)
			}
		}
	}
	for _, v := range strs {
		if refersTo(v, names) {
			return true
		}
	}
	return anyRefersTo(s.Request.JSON, names, 0)
}

// refersToWebhook reports whether a template names ${webhook.url},
// directly or in a function call.
func refersToWebhook(tmpl string) bool { return refersTo(tmpl, webhookRef) }

// refersTo reports whether a template names one of names, directly or in
// a function call.
func refersTo(tmpl string, names map[string]bool) bool {
	named := false
	for n := range names {
		if strings.Contains(tmpl, n) {
			named = true
			break
		}
	}
	if !named {
		return false
	}
	for _, ref := range Lookup(tmpl) {
		e, err := ParseExpr(ref)
		if err != nil {
			continue
		}
		found := false
		e.Walk(func(name string) { found = found || names[name] })
		if found {
			return true
		}
	}
	return false
}

func anyRefersToWebhook(v any, depth int) bool { return anyRefersTo(v, webhookRef, depth) }

func anyRefersTo(v any, names map[string]bool, depth int) bool {
	if depth > 64 {
		return false
	}
	switch x := v.(type) {
	case string:
		return refersTo(x, names)
	case map[string]any:
		for k, e := range x {
			if refersTo(k, names) || anyRefersTo(e, names, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if anyRefersTo(e, names, depth+1) {
				return true
			}
		}
	}
	return false
}
