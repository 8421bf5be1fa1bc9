package config

import (
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ohler55/ojg/jp"
	"go.yaml.in/yaml/v3"
)

// Options are the loader's ways into the environment. Zero fields take the
// operating system's.
type Options struct {
	// LookupEnv resolves ${env:NAME}; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads ${file:PATH} secrets, ca_file and timelines;
	// default os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

func (o Options) withDefaults() Options {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	return o
}

// Default values, documented in docs/config.md.
const (
	DefaultLocation         = "default"
	DefaultTimezone         = "UTC"
	DefaultListen           = "127.0.0.1:9115"
	DefaultDriver           = "sqlite"
	DefaultDSN              = "slaprobe.db"
	DefaultRetention        = 400 * 24 * time.Hour
	DefaultInterval         = 60 * time.Second
	DefaultTimeout          = 10 * time.Second
	DefaultDownAfter        = 2
	DefaultUpAfter          = 1
	DefaultMaxBodyBytes     = 1 << 20
	DefaultMaxRedirects     = 5
	DefaultObjective        = 0.999
	DefaultFlapGap          = 5 * time.Minute
	DefaultResend           = time.Minute
	DefaultSeverityDown     = "page"
	DefaultSeverityDegraded = "ticket"
)

var (
	topKeys         = []string{"location", "timezone", "listen", "storage", "defaults", "policy", "services", "maintenance", "alerting", "report"}
	storageKeys     = []string{"driver", "dsn", "retention"}
	defaultsKeys    = []string{"interval", "timeout", "down_after", "up_after", "max_body_bytes", "max_redirects", "tls"}
	tlsKeys         = []string{"ca_file", "server_name", "insecure_skip_verify"}
	policyKeys      = []string{"unknown", "degraded", "quorum", "flap_gap"}
	serviceKeys     = []string{"name", "objective", "credits", "timelines", "flows"}
	creditKeys      = []string{"below", "credit_percent"}
	flowKeys        = []string{"name", "interval", "timeout", "down_after", "up_after", "max_body_bytes", "max_redirects", "tls", "vars", "steps"}
	stepKeys        = []string{"name", "function", "timeout", "request", "poll", "expect", "extract"}
	requestKeys     = []string{"method", "url", "headers", "json", "form", "body"}
	pollKeys        = []string{"every", "within"}
	expectKeys      = []string{"status", "latency", "jsonpath", "body", "headers"}
	matcherKeys     = []string{"equals", "contains", "exists", "gt", "ge", "lt", "le", "matches"}
	extractKeys     = []string{"jsonpath", "regex", "header"}
	maintenanceKeys = []string{"service", "start", "end", "reason"}
	alertingKeys    = []string{"alertmanager", "runbook_url", "severity"}
	amKeys          = []string{"urls", "resend"}
	severityKeys    = []string{"down", "degraded"}
	reportKeys      = []string{"font"}
	builtins        = []string{RefRunID, RefLocation, RefNow}
)

// Load reads a config file with opts.ReadFile and parses it.
func Load(path string, opts Options) (*Config, error) {
	opts = opts.withDefaults()
	data, err := opts.ReadFile(path)
	if err != nil {
		return nil, errOrNil(Errors{{File: path, Msg: fmt.Sprintf("cannot read the config: %v", err)}}, path)
	}
	return Parse(path, data, opts)
}

// Parse parses and validates a config; file names it in errors, and
// relative paths in it (timelines, ${file:...}, ca_file, report.font) are
// taken from file's directory. It loads the timelines the services name.
// It returns every problem found, as Errors sorted by line; no message
// holds a secret's value.
func Parse(file string, data []byte, opts Options) (*Config, error) {
	var errs Errors
	p := &parser{
		decoder: decoder{file: file, errs: &errs},
		opts:    opts.withDefaults(),
		dir:     filepath.Dir(file),
		cfg:     newConfig(file),
		flows:   map[string]int{},
	}
	root, ok := p.parse(data)
	if ok {
		p.config(root)
		if !p.exhausted {
			p.timelines()
		}
	}
	if len(errs) > 0 {
		for _, e := range errs {
			e.Msg = p.cfg.Redact(e.Msg)
			e.Key = p.cfg.Redact(e.Key)
		}
		return nil, errOrNil(errs, file)
	}
	return p.cfg, nil
}

func newConfig(file string) *Config {
	return &Config{
		File:     file,
		Location: DefaultLocation,
		Timezone: DefaultTimezone,
		Loc:      time.UTC,
		Listen:   DefaultListen,
		Storage:  Storage{Driver: DefaultDriver, Retention: DefaultRetention},
		Defaults: Defaults{
			Interval: DefaultInterval, Timeout: DefaultTimeout,
			DownAfter: DefaultDownAfter, UpAfter: DefaultUpAfter,
			MaxBodyBytes: DefaultMaxBodyBytes, MaxRedirects: DefaultMaxRedirects,
		},
		Policy:   Policy{Unknown: "exclude", Degraded: "up", Quorum: Quorum{Mode: "majority"}, FlapGap: DefaultFlapGap},
		Alerting: Alerting{Resend: DefaultResend, SeverityDown: DefaultSeverityDown, SeverityDegraded: DefaultSeverityDegraded},
		Secrets:  map[string]string{},
	}
}

// parser holds the state of one config load.
type parser struct {
	decoder
	opts  Options
	dir   string
	cfg   *Config
	flows map[string]int // flow name -> line, unique across services
	// timelineRefs are the services' timeline entries, for loading after
	// the services are known.
	timelineRefs []timelineRef
	secretErr    map[string]string // secret reference -> why it failed, to report each use
}

type timelineRef struct {
	path string // resolved
	node *yaml.Node
	key  string
}

// path resolves a path relative to the config's directory.
func (p *parser) path(s string) string {
	if s == "" || filepath.IsAbs(s) {
		return s
	}
	return filepath.Join(p.dir, s)
}

func (p *parser) config(root *yaml.Node) {
	top := map[string]entry{}
	p.object(root, "", topKeys, func(e entry, _ string) { top[e.name] = e })
	// Fixed order: defaults before the flows that inherit them, services
	// before the maintenance windows that name them.
	c := p.cfg
	if e, ok := top["location"]; ok {
		if s, ok := p.name(e.v, e.name); ok {
			c.Location = s
		}
	}
	if e, ok := top["timezone"]; ok {
		if s, ok := p.str(e.v, e.name); ok {
			loc, err := time.LoadLocation(s)
			if err != nil || s == "" {
				p.errf(e.v, e.name, "unknown time zone %q (use an IANA name such as Asia/Seoul)", s)
			} else {
				c.Timezone, c.Loc = s, loc
			}
		}
	}
	if e, ok := top["listen"]; ok {
		if s, ok := p.str(e.v, e.name); ok {
			if _, port, err := net.SplitHostPort(s); err != nil || !isPort(port) {
				p.errf(e.v, e.name, "invalid address %q: use HOST:PORT, e.g. 127.0.0.1:9115", s)
			} else {
				c.Listen = s
			}
		}
	}
	if e, ok := top["storage"]; ok {
		p.storage(e.v, e.name)
	}
	if c.Storage.DSN == "" && c.Storage.Driver == DefaultDriver {
		c.Storage.DSN = DefaultDSN
	}
	if e, ok := top["defaults"]; ok {
		p.defaults(e.v, e.name)
	}
	if e, ok := top["policy"]; ok {
		p.policy(e.v, e.name)
	}
	if e, ok := top["services"]; ok {
		p.services(e.v, e.name)
	}
	if len(c.Services) == 0 && !p.exhausted {
		n := root
		if e, ok := top["services"]; ok {
			n = e.v
		}
		p.errf(n, "services", "is required: list at least one service")
	}
	if e, ok := top["maintenance"]; ok {
		p.maintenance(e.v, e.name)
	}
	if e, ok := top["alerting"]; ok {
		p.alerting(e.v, e.name)
	}
	if e, ok := top["report"]; ok {
		p.object(e.v, e.name, reportKeys, func(e entry, key string) {
			if s, ok := p.str(e.v, key); ok {
				c.Report.Font = p.path(s)
			}
		})
	}
}

// isPort reports whether s is a port number, 0..65535.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535 && s[0] != '+' && s[0] != '-'
}

// enum reads a string that must be one of two allowed values; anything else
// is an error naming what it is ("unknown driver \"x\" (expected sqlite or
// postgres)").
func (p *parser) enum(n *yaml.Node, key, what, a, b string) (string, bool) {
	v, ok := p.str(n, key)
	if !ok {
		return "", false
	}
	if v != a && v != b {
		p.errf(n, key, "unknown %s %q (expected %s or %s)", what, v, a, b)
		return "", false
	}
	return v, true
}

func (p *parser) storage(n *yaml.Node, key string) {
	s := &p.cfg.Storage
	var dsnNode *yaml.Node
	p.object(n, key, storageKeys, func(e entry, key string) {
		switch e.name {
		case "driver":
			if v, ok := p.enum(e.v, key, "driver", "sqlite", "postgres"); ok {
				s.Driver = v
			}
		case "dsn":
			dsnNode = e.v
			if v, ok := p.str(e.v, key); ok {
				s.DSN = v
				p.template(e.v, key, v, nil)
			}
		case "retention":
			if v, ok := p.positive(e.v, key); ok {
				s.Retention = v
			}
		}
	})
	if s.Driver == "postgres" && s.DSN == "" {
		p.errf(orNode(dsnNode, p.resolve(n)), key+".dsn", "is required with driver postgres")
	}
}

// size reads max_body_bytes: an integer or a size such as "1MiB".
func (p *parser) size(n *yaml.Node, key string) (int64, bool) {
	s, ok := p.str(n, key)
	if !ok {
		return 0, false
	}
	v, err := ParseSize(s)
	if err != nil {
		p.errf(n, key, "%v", err)
		return 0, false
	}
	if v <= 0 {
		p.errf(n, key, "must be greater than 0")
		return 0, false
	}
	return v, true
}

// knobs are the settings a flow may override from the defaults.
type knobs struct {
	interval, timeout   time.Duration
	downAfter, upAfter  int
	maxBody             int64
	maxRedirects        int
	tls                 TLS
	setInterval, setTim bool
}

// knob decodes one of the shared defaults/flow keys into k; it reports
// whether name was one of them.
func (p *parser) knob(k *knobs, e entry, key string) bool {
	switch e.name {
	case "interval":
		if v, ok := p.positive(e.v, key); ok {
			k.interval, k.setInterval = v, true
		}
	case "timeout":
		if v, ok := p.positive(e.v, key); ok {
			k.timeout, k.setTim = v, true
		}
	case "down_after", "up_after":
		if v, ok := p.int(e.v, key); ok {
			if v < 1 || v > 1000 {
				p.errf(e.v, key, "must be between 1 and 1000")
			} else if e.name == "down_after" {
				k.downAfter = int(v)
			} else {
				k.upAfter = int(v)
			}
		}
	case "max_body_bytes":
		if v, ok := p.size(e.v, key); ok {
			k.maxBody = v
		}
	case "max_redirects":
		if v, ok := p.int(e.v, key); ok {
			if v < 0 || v > 100 {
				p.errf(e.v, key, "must be between 0 and 100")
			} else {
				k.maxRedirects = int(v)
			}
		}
	case "tls":
		p.tls(&k.tls, e.v, key)
	default:
		return false
	}
	return true
}

func (p *parser) tls(t *TLS, n *yaml.Node, key string) {
	p.object(n, key, tlsKeys, func(e entry, key string) {
		switch e.name {
		case "ca_file":
			s, ok := p.str(e.v, key)
			if !ok {
				return
			}
			path := p.path(s)
			data, err := p.opts.ReadFile(path)
			if err != nil {
				p.errf(e.v, key, "cannot read the CA file: %v", err)
				return
			}
			if !x509.NewCertPool().AppendCertsFromPEM(data) {
				p.errf(e.v, key, "%s holds no PEM certificate", s)
				return
			}
			t.CAFile = path
		case "server_name":
			t.ServerName, _ = p.str(e.v, key)
		case "insecure_skip_verify":
			t.InsecureSkipVerify, _ = p.bool(e.v, key)
		}
	})
}

func (p *parser) defaults(n *yaml.Node, key string) {
	df := &p.cfg.Defaults
	k := knobs{interval: df.Interval, timeout: df.Timeout, downAfter: df.DownAfter, upAfter: df.UpAfter,
		maxBody: df.MaxBodyBytes, maxRedirects: df.MaxRedirects}
	var timeoutNode *yaml.Node
	p.object(n, key, defaultsKeys, func(e entry, key string) {
		if e.name == "timeout" {
			timeoutNode = e.v
		}
		p.knob(&k, e, key)
	})
	if k.timeout > k.interval {
		p.errf(orNode(timeoutNode, p.resolve(n)), key+".timeout", "timeout %v is longer than the interval %v", k.timeout, k.interval)
	}
	*df = Defaults{Interval: k.interval, Timeout: k.timeout, DownAfter: k.downAfter, UpAfter: k.upAfter,
		MaxBodyBytes: k.maxBody, MaxRedirects: k.maxRedirects, TLS: k.tls}
}

func (p *parser) policy(n *yaml.Node, key string) {
	pol := &p.cfg.Policy
	p.object(n, key, policyKeys, func(e entry, key string) {
		switch e.name {
		case "unknown":
			if s, ok := p.enum(e.v, key, "policy", "exclude", "down"); ok {
				pol.Unknown = s
			}
		case "degraded":
			if s, ok := p.enum(e.v, key, "policy", "up", "down"); ok {
				pol.Degraded = s
			}
		case "quorum":
			s, ok := p.str(e.v, key)
			if !ok {
				return
			}
			switch s {
			case "majority", "all":
				pol.Quorum = Quorum{Mode: s}
			default:
				v, err := strconv.Atoi(s)
				if err != nil || v < 1 {
					p.errf(e.v, key, "invalid quorum %q (expected majority, all or a count of locations of at least 1)", s)
					return
				}
				pol.Quorum = Quorum{Mode: "count", N: v}
			}
		case "flap_gap":
			if v, ok := p.duration(e.v, key); ok {
				if v < 0 {
					p.errf(e.v, key, "must not be negative")
				} else {
					pol.FlapGap = v
				}
			}
		}
	})
}

func (p *parser) services(n *yaml.Node, key string) {
	names := map[string]int{}
	for i, sn := range p.seq(n, key) {
		skey := index(key, i)
		rn, ok := p.item(sn, skey)
		if !ok {
			continue
		}
		svc := Service{Objective: DefaultObjective, Line: rn.Line}
		var nameNode, flowsNode *yaml.Node
		p.object(rn, skey, serviceKeys, func(e entry, key string) {
			switch e.name {
			case "name":
				nameNode = e.v
				svc.Name, _ = p.name(e.v, key)
			case "objective":
				if v, ok := p.float(e.v, key); ok {
					if v <= 0 || v >= 1 {
						p.errf(e.v, key, "objective %v is outside (0, 1)", v)
					} else {
						svc.Objective = v
					}
				}
			case "credits":
				svc.Credits = p.credits(e.v, key)
			case "timelines":
				for j, tn := range p.seq(e.v, key) {
					if s, ok := p.str(tn, index(key, j)); ok {
						svc.Timelines = append(svc.Timelines, s)
						p.timelineRefs = append(p.timelineRefs, timelineRef{path: p.path(s), node: tn, key: index(key, j)})
					}
				}
			case "flows":
				flowsNode = e.v
			}
		})
		if nameNode == nil {
			p.errf(rn, skey+".name", "is required")
		} else if svc.Name != "" {
			if line, dup := names[svc.Name]; dup {
				p.errf(nameNode, skey+".name", "duplicate service name %q (first used on line %d)", svc.Name, line)
			} else {
				names[svc.Name] = nameNode.Line
			}
		}
		for j, fn := range p.seq(flowsNode, skey+".flows") {
			if f, ok := p.flow(fn, index(skey+".flows", j), svc.Name); ok {
				svc.Flows = append(svc.Flows, f)
			}
		}
		p.cfg.Services = append(p.cfg.Services, svc)
	}
}

func (p *parser) credits(n *yaml.Node, key string) []Credit {
	var out []Credit
	for i, cn := range p.seq(n, key) {
		ckey := index(key, i)
		rn, ok := p.item(cn, ckey)
		if !ok {
			continue
		}
		var c Credit
		var haveBelow, havePct bool
		p.object(rn, ckey, creditKeys, func(e entry, key string) {
			switch e.name {
			case "below":
				if v, ok := p.float(e.v, key); ok {
					haveBelow = true
					if v <= 0 || v > 1 {
						p.errf(e.v, key, "below %v is outside (0, 1]", v)
					}
					c.Below = v
				}
			case "credit_percent":
				if v, ok := p.float(e.v, key); ok {
					havePct = true
					if v < 0 || v > 100 {
						p.errf(e.v, key, "credit_percent %v is outside 0..100", v)
					}
					c.CreditPercent = v
				}
			}
		})
		if !haveBelow {
			p.errf(rn, ckey+".below", "is required")
		}
		if !havePct {
			p.errf(rn, ckey+".credit_percent", "is required")
		}
		if haveBelow && len(out) > 0 && c.Below <= out[len(out)-1].Below {
			p.errf(rn, ckey+".below", "tiers are matched from the top, so below must grow down the list: %v is not above %v", c.Below, out[len(out)-1].Below)
		}
		out = append(out, c)
	}
	return out
}

// flow decodes one flow of service svc.
func (p *parser) flow(n *yaml.Node, key, svc string) (Flow, bool) {
	rn, ok := p.item(n, key)
	if !ok {
		return Flow{}, false
	}
	df := p.cfg.Defaults
	k := knobs{interval: df.Interval, timeout: df.Timeout, downAfter: df.DownAfter, upAfter: df.UpAfter,
		maxBody: df.MaxBodyBytes, maxRedirects: df.MaxRedirects, tls: df.TLS}
	f := Flow{Service: svc, Line: rn.Line}
	var nameNode, varsNode, stepsNode, timeoutNode *yaml.Node
	p.object(rn, key, flowKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			nameNode = e.v
			f.Name, _ = p.name(e.v, key)
		case "vars":
			varsNode = e.v
		case "steps":
			stepsNode = e.v
		default:
			if e.name == "timeout" || e.name == "interval" {
				timeoutNode = e.v
			}
			p.knob(&k, e, key)
		}
	})
	f.Interval, f.Timeout, f.DownAfter, f.UpAfter = k.interval, k.timeout, k.downAfter, k.upAfter
	f.MaxBodyBytes, f.MaxRedirects, f.TLS = k.maxBody, k.maxRedirects, k.tls
	if nameNode == nil {
		p.errf(rn, key+".name", "is required")
	} else if f.Name != "" {
		if line, dup := p.flows[f.Name]; dup {
			p.errf(nameNode, key+".name", "duplicate flow name %q (first used on line %d; flow names are unique across services)", f.Name, line)
		} else {
			p.flows[f.Name] = nameNode.Line
		}
	}
	if (k.setInterval || k.setTim) && f.Timeout > f.Interval {
		p.errf(timeoutNode, key+".timeout", "timeout %v is longer than the interval %v", f.Timeout, f.Interval)
	}

	defined := map[string]bool{}
	for _, b := range builtins {
		defined[b] = true
	}
	for _, e := range p.entries(varsNode, key+".vars") {
		vkey := child(key+".vars", e.name)
		if !isIdent(e.name) {
			p.errf(e.k, vkey, "invalid variable name %q: use letters, digits and '_', starting with a letter or '_'", e.name)
			continue
		}
		if e.name == RefLocation || e.name == RefNow {
			p.errf(e.k, vkey, "%q is a built-in reference and cannot be redefined", e.name)
			continue
		}
		if v, ok := p.str(e.v, vkey); ok {
			p.template(e.v, vkey, v, defined)
			f.Vars = append(f.Vars, Var{Name: e.name, Value: v})
		}
		defined[e.name] = true
	}

	steps := map[string]int{}
	items := p.seq(stepsNode, key+".steps")
	for i, sn := range items {
		st, ok := p.step(sn, index(key+".steps", i), &f, defined, steps)
		if ok {
			f.Steps = append(f.Steps, st)
		}
	}
	if rs := p.resolve(stepsNode); isNull(rs) || isList(rs) && len(items) == 0 {
		p.errf(orNode(stepsNode, rn), key+".steps", "is required: list at least one step")
	}
	return f, true
}

// step decodes one step; defined holds the references usable so far, and
// gains the step's extracts.
func (p *parser) step(n *yaml.Node, key string, f *Flow, defined map[string]bool, names map[string]int) (Step, bool) {
	rn, ok := p.item(n, key)
	if !ok {
		return Step{}, false
	}
	st := Step{Line: rn.Line}
	var nameNode, fnNode, reqNode, pollNode, expectNode, extractNode *yaml.Node
	p.object(rn, key, stepKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			nameNode = e.v
			st.Name, _ = p.name(e.v, key)
		case "function":
			fnNode = e.v
			st.Function, _ = p.name(e.v, key)
		case "timeout":
			if v, ok := p.positive(e.v, key); ok {
				st.Timeout = v
				if v > f.Timeout {
					p.errf(e.v, key, "step timeout %v is longer than the flow's timeout %v", v, f.Timeout)
				}
			}
		case "request":
			reqNode = e.v
		case "poll":
			pollNode = e.v
		case "expect":
			expectNode = e.v
		case "extract":
			extractNode = e.v
		}
	})
	if nameNode == nil {
		p.errf(rn, key+".name", "is required")
	} else if st.Name != "" {
		if line, dup := names[st.Name]; dup {
			p.errf(nameNode, key+".name", "duplicate step name %q in flow (first used on line %d)", st.Name, line)
		} else {
			names[st.Name] = nameNode.Line
		}
	}
	if fnNode == nil {
		p.errf(rn, key+".function", "is required: name the user-visible function this step serves (login, send, receive, ...)")
	}
	if reqNode == nil {
		p.errf(rn, key+".request", "is required")
	} else {
		st.Request = p.request(reqNode, key+".request", defined)
	}
	if pollNode != nil {
		st.Poll = p.poll(pollNode, key+".poll", f, st.Timeout)
	}
	if expectNode != nil {
		st.Expect = p.expect(expectNode, key+".expect", defined)
	}
	// Extracts become usable from the next step on.
	for _, e := range p.entries(extractNode, key+".extract") {
		if ex, ok := p.extract(e, child(key+".extract", e.name)); ok {
			st.Extract = append(st.Extract, ex)
		}
	}
	for _, ex := range st.Extract {
		defined[ex.Var] = true
	}
	return st, true
}

func (p *parser) request(n *yaml.Node, key string, defined map[string]bool) Request {
	rq := Request{Method: "GET"}
	var urlNode, bodyNode *yaml.Node
	var bodyKey string
	p.object(n, key, requestKeys, func(e entry, key string) {
		switch e.name {
		case "method":
			if s, ok := p.str(e.v, key); ok {
				m := strings.ToUpper(s)
				if !isToken(m) {
					p.errf(e.v, key, "invalid HTTP method %q", s)
				} else {
					rq.Method = m
				}
			}
		case "url":
			urlNode = e.v
			if s, ok := p.str(e.v, key); ok && p.template(e.v, key, s, defined) {
				if err := checkURL(s); err != nil {
					p.errf(e.v, key, "%v", err)
				} else {
					rq.URL = s
				}
			}
		case "headers":
			for _, h := range p.entries(e.v, key) {
				hkey := child(key, h.name)
				if !isToken(h.name) {
					p.errf(h.k, hkey, "invalid header name %q", h.name)
					continue
				}
				if s, ok := p.str(h.v, hkey); ok && p.template(h.v, hkey, s, defined) {
					if rq.Headers == nil {
						rq.Headers = map[string]string{}
					}
					rq.Headers[h.name] = s
				}
			}
		case "json", "form", "body":
			if bodyNode != nil {
				p.errf(e.k, key, "a request has at most one body: %s is already set on line %d", bodyKey, bodyNode.Line)
				return
			}
			bodyNode, bodyKey = e.k, e.name
			switch e.name {
			case "json":
				rq.JSON = p.jsonValue(e.v, key, defined, 0)
			case "form":
				for _, fe := range p.entries(e.v, key) {
					fkey := child(key, fe.name)
					if s, ok := p.str(fe.v, fkey); ok && p.template(fe.v, fkey, s, defined) {
						if rq.Form == nil {
							rq.Form = map[string]string{}
						}
						rq.Form[fe.name] = s
					}
				}
			case "body":
				if s, ok := p.str(e.v, key); ok && p.template(e.v, key, s, defined) {
					rq.Body = s
				}
			}
		}
	})
	if urlNode == nil && p.resolve(n) != nil {
		p.errf(p.resolve(n), key+".url", "is required")
	}
	return rq
}

func isList(n *yaml.Node) bool { return n != nil && n.Kind == yaml.SequenceNode }

// checkURL checks a URL template's shape with every reference replaced.
func checkURL(tmpl string) error {
	u, err := url.Parse(placeholder(tmpl))
	if err != nil {
		return fmt.Errorf("invalid URL %q", tmpl)
	}
	if strings.HasPrefix(tmpl, "${") {
		return nil // scheme and host come from a variable
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("invalid URL %q: want http:// or https:// and a host", tmpl)
	}
	return nil
}

// isToken reports whether s is an HTTP token (method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

// jsonValue converts a YAML value to what encoding/json marshals, checking
// the templates in its strings.
func (p *parser) jsonValue(n *yaml.Node, key string, defined map[string]bool, depth int) any {
	rn := p.resolve(n)
	if rn == nil {
		return nil
	}
	if depth > 64 {
		p.errf(rn, key, "nested more than 64 levels")
		return nil
	}
	switch rn.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, e := range p.entries(rn, key) {
			m[e.name] = p.jsonValue(e.v, child(key, e.name), defined, depth+1)
		}
		return m
	case yaml.SequenceNode:
		out := make([]any, 0, len(rn.Content))
		for i, c := range rn.Content {
			out = append(out, p.jsonValue(c, index(key, i), defined, depth+1))
		}
		return out
	case yaml.ScalarNode:
		switch rn.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if rn.Decode(&b) == nil {
				return b
			}
		case "!!int":
			var i int64
			if rn.Decode(&i) == nil {
				return i
			}
			var f float64
			if rn.Decode(&f) == nil {
				return f
			}
		case "!!float":
			var f float64
			if rn.Decode(&f) == nil && !isInfNaN(f) {
				return f
			}
			p.errf(rn, key, "%q cannot be written as JSON", rn.Value)
			return nil
		}
		p.template(rn, key, rn.Value, defined)
		return rn.Value
	}
	p.errf(rn, key, "unsupported value")
	return nil
}

func isInfNaN(f float64) bool {
	return f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308
}

func (p *parser) poll(n *yaml.Node, key string, f *Flow, stepTimeout time.Duration) *Poll {
	var pl Poll
	var everyNode, withinNode *yaml.Node
	p.object(n, key, pollKeys, func(e entry, key string) {
		switch e.name {
		case "every":
			everyNode = e.v
			pl.Every, _ = p.positive(e.v, key)
		case "within":
			withinNode = e.v
			pl.Within, _ = p.positive(e.v, key)
		}
	})
	rn := p.resolve(n)
	if everyNode == nil {
		p.errf(rn, key+".every", "is required")
	}
	if withinNode == nil {
		p.errf(rn, key+".within", "is required")
	}
	if pl.Every > 0 && pl.Within > 0 && pl.Every > pl.Within {
		p.errf(everyNode, key+".every", "every %v is longer than within %v", pl.Every, pl.Within)
	}
	limit, what := f.Timeout, "the flow's timeout"
	if stepTimeout > 0 {
		limit, what = stepTimeout, "the step's timeout"
	}
	if pl.Within > limit {
		p.errf(withinNode, key+".within", "within %v is longer than %s %v", pl.Within, what, limit)
	}
	return &pl
}

func (p *parser) expect(n *yaml.Node, key string, defined map[string]bool) Expect {
	var ex Expect
	p.object(n, key, expectKeys, func(e entry, key string) {
		switch e.name {
		case "status":
			rn := p.resolve(e.v)
			var items []*yaml.Node
			if rn != nil && rn.Kind == yaml.ScalarNode {
				items = []*yaml.Node{rn}
			} else {
				items = p.seq(e.v, key)
			}
			for i, sn := range items {
				if v, ok := p.int(sn, index(key, i)); ok {
					if v < 100 || v > 599 {
						p.errf(sn, index(key, i), "HTTP status %d is outside 100..599", v)
					} else {
						ex.Status = append(ex.Status, int(v))
					}
				}
			}
		case "latency":
			ex.Latency, _ = p.positive(e.v, key)
		case "jsonpath":
			for _, je := range p.entries(e.v, key) {
				jkey := child(key, je.name)
				if err := checkJSONPath(je.name); err != nil {
					p.errf(je.k, jkey, "%v", err)
					continue
				}
				if m, ok := p.matcher(je.v, jkey, defined); ok {
					ex.JSONPath = append(ex.JSONPath, PathMatch{Path: je.name, Matcher: m})
				}
			}
		case "body":
			if m, ok := p.matcher(e.v, key, defined); ok {
				ex.Body = &m
			}
		case "headers":
			for _, he := range p.entries(e.v, key) {
				hkey := child(key, he.name)
				if !isToken(he.name) {
					p.errf(he.k, hkey, "invalid header name %q", he.name)
					continue
				}
				if m, ok := p.matcher(he.v, hkey, defined); ok {
					ex.Headers = append(ex.Headers, HeaderMatch{Name: he.name, Matcher: m})
				}
			}
		}
	})
	return ex
}

// checkJSONPath parses a JSONPath expression.
func checkJSONPath(s string) error {
	if !strings.HasPrefix(s, "$") {
		return fmt.Errorf("invalid JSONPath %q: it must start with $", s)
	}
	if _, err := jp.ParseString(s); err != nil {
		return fmt.Errorf("invalid JSONPath %q: %v", s, err)
	}
	return nil
}

// matcher decodes {equals|contains|exists|gt|ge|lt|le|matches: X}; a bare
// scalar is shorthand for equals.
func (p *parser) matcher(n *yaml.Node, key string, defined map[string]bool) (Matcher, bool) {
	var m Matcher
	rn := p.resolve(n)
	if rn == nil {
		return m, false
	}
	if rn.Kind == yaml.ScalarNode && !isNull(rn) {
		if !p.template(rn, key, rn.Value, defined) {
			return m, false
		}
		v := rn.Value
		m.Equals = &v
		return m, true
	}
	before := len(*p.errs)
	var set []string
	p.object(rn, key, matcherKeys, func(e entry, key string) {
		set = append(set, e.name)
		switch e.name {
		case "equals", "contains":
			ev := p.resolve(e.v)
			if ev == nil {
				return
			}
			if ev.Kind != yaml.ScalarNode || isNull(ev) {
				p.errf(ev, key, "expected a string or number, got %s", describe(ev))
				return
			}
			v := ev.Value
			p.template(ev, key, v, defined)
			if e.name == "equals" {
				m.Equals = &v
			} else {
				m.Contains = &v
			}
		case "exists":
			if b, ok := p.bool(e.v, key); ok {
				m.Exists = &b
			}
		case "gt", "ge", "lt", "le":
			if f, ok := p.float(e.v, key); ok {
				switch e.name {
				case "gt":
					m.GT = &f
				case "ge":
					m.GE = &f
				case "lt":
					m.LT = &f
				default:
					m.LE = &f
				}
			}
		case "matches":
			s, ok := p.str(e.v, key)
			if !ok || !p.template(e.v, key, s, defined) {
				return
			}
			if _, err := regexp.Compile(placeholder(s)); err != nil {
				p.errf(e.v, key, "invalid regular expression: %v", err)
				return
			}
			if s == "" {
				p.errf(e.v, key, "empty regular expression")
				return
			}
			m.Matches = s
		}
	})
	if len(set) == 0 && len(*p.errs) == before {
		p.errf(rn, key, "a matcher needs one of: %s", strings.Join(matcherKeys, ", "))
		return m, false
	}
	if len(set) > 1 {
		p.errf(rn, key, "a matcher takes exactly one of %s; found %s", strings.Join(matcherKeys, ", "), strings.Join(set, " and "))
		return m, false
	}
	return m, len(*p.errs) == before
}

func (p *parser) extract(e entry, key string) (Extract, bool) {
	ex := Extract{Var: e.name}
	if !isIdent(e.name) {
		p.errf(e.k, key, "invalid variable name %q: use letters, digits and '_', starting with a letter or '_'", e.name)
		return ex, false
	}
	if e.name == RefLocation || e.name == RefNow {
		p.errf(e.k, key, "%q is a built-in reference and cannot be redefined", e.name)
		return ex, false
	}
	before := len(*p.errs)
	var set []string
	p.object(e.v, key, extractKeys, func(e entry, key string) {
		set = append(set, e.name)
		s, ok := p.str(e.v, key)
		if !ok {
			return
		}
		switch e.name {
		case "jsonpath":
			if err := checkJSONPath(s); err != nil {
				p.errf(e.v, key, "%v", err)
			}
			ex.JSONPath = s
		case "regex":
			if _, err := regexp.Compile(s); err != nil {
				p.errf(e.v, key, "invalid regular expression: %v", err)
			} else if s == "" {
				p.errf(e.v, key, "empty regular expression")
			}
			ex.Regex = s
		case "header":
			if !isToken(s) {
				p.errf(e.v, key, "invalid header name %q", s)
			}
			ex.Header = s
		}
	})
	if len(set) != 1 && len(*p.errs) == before {
		rn := p.resolve(e.v)
		p.errf(orNode(rn, e.k), key, "an extract takes exactly one of: %s", strings.Join(extractKeys, ", "))
	}
	return ex, len(*p.errs) == before
}

func (p *parser) maintenance(n *yaml.Node, key string) {
	for i, mn := range p.seq(n, key) {
		mkey := index(key, i)
		rn, ok := p.item(mn, mkey)
		if !ok {
			continue
		}
		m := Maintenance{Line: rn.Line}
		var startNode, endNode *yaml.Node
		p.object(rn, mkey, maintenanceKeys, func(e entry, key string) {
			switch e.name {
			case "service":
				// A service the config does not probe is allowed (DESIGN's
				// own example names one): it matches nothing.
				if s, ok := p.str(e.v, key); ok {
					if s != "" && s != "*" && !isName(s) {
						p.errf(e.v, key, "invalid name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", s)
					}
					m.Service = s
				}
			case "start":
				startNode = e.v
				m.Start, _ = p.time(e.v, key)
			case "end":
				endNode = e.v
				m.End, _ = p.time(e.v, key)
			case "reason":
				m.Reason, _ = p.str(e.v, key)
			}
		})
		if startNode == nil {
			p.errf(rn, mkey+".start", "is required")
		}
		if endNode == nil {
			p.errf(rn, mkey+".end", "is required")
		}
		if !m.Start.IsZero() && !m.End.IsZero() && !m.End.After(m.Start) {
			p.errf(endNode, mkey+".end", "end %s is not after start %s", m.End.Format(time.RFC3339), m.Start.Format(time.RFC3339))
		}
		p.cfg.Maintenance = append(p.cfg.Maintenance, m)
	}
}

func (p *parser) alerting(n *yaml.Node, key string) {
	a := &p.cfg.Alerting
	p.object(n, key, alertingKeys, func(e entry, key string) {
		switch e.name {
		case "alertmanager":
			p.object(e.v, key, amKeys, func(e entry, key string) {
				switch e.name {
				case "urls":
					for i, un := range p.seq(e.v, key) {
						s, ok := p.str(un, index(key, i))
						if !ok {
							continue
						}
						if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
							p.errf(un, index(key, i), "invalid URL %q: want http:// or https:// and a host", s)
							continue
						}
						a.AlertmanagerURLs = append(a.AlertmanagerURLs, s)
					}
				case "resend":
					if v, ok := p.positive(e.v, key); ok {
						a.Resend = v
					}
				}
			})
		case "runbook_url":
			if s, ok := p.str(e.v, key); ok {
				u, err := url.Parse(strings.ReplaceAll(s, "{service}", "x"))
				if err != nil || u.Scheme == "" {
					p.errf(e.v, key, "invalid URL %q", s)
				} else {
					a.RunbookURL = s
				}
			}
		case "severity":
			p.object(e.v, key, severityKeys, func(e entry, key string) {
				s, ok := p.str(e.v, key)
				if !ok {
					return
				}
				if s == "" {
					p.errf(e.v, key, "must not be empty")
					return
				}
				if e.name == "down" {
					a.SeverityDown = s
				} else {
					a.SeverityDegraded = s
				}
			})
		}
	})
}

// template checks a template and its references: each must be a built-in,
// in defined, or a secret that resolves. defined == nil allows secrets
// only. It reports whether the template is fine.
func (p *parser) template(n *yaml.Node, key, tmpl string, defined map[string]bool) bool {
	refs, err := parseRefs(tmpl)
	if err != nil {
		p.errf(n, key, "%v in template (write $${ for a literal ${)", err)
		return false
	}
	ok := true
	for _, ref := range refs {
		switch {
		case strings.HasPrefix(ref, EnvPrefix):
			ok = p.secretEnv(n, key, strings.TrimPrefix(ref, EnvPrefix)) && ok
		case strings.HasPrefix(ref, FilePrefix):
			ok = p.secretFile(n, key, strings.TrimPrefix(ref, FilePrefix)) && ok
		case defined == nil:
			p.errf(n, key, "${%s}: only ${env:NAME} and ${file:PATH} can be used here", ref)
			ok = false
		case defined[ref]:
		case isIdent(ref):
			p.errf(n, key, "${%s} is not defined by an earlier var or an earlier step's extract", ref)
			ok = false
		default:
			p.errf(n, key, "unknown reference ${%s} (built-ins: ${run.id}, ${location}, ${now}, ${env:NAME}, ${file:PATH})", ref)
			ok = false
		}
	}
	return ok
}

func (p *parser) secretEnv(n *yaml.Node, key, name string) bool {
	ref := EnvPrefix + name
	if _, ok := p.cfg.Secrets[ref]; ok {
		return true
	}
	if !isIdent(name) {
		p.errf(n, key, "invalid environment variable name in ${%s}", ref)
		return false
	}
	v, ok := p.opts.LookupEnv(name)
	if !ok {
		p.errf(n, key, "environment variable %s is not set (${%s})", name, ref)
		return false
	}
	p.cfg.Secrets[ref] = v
	return true
}

func (p *parser) secretFile(n *yaml.Node, key, path string) bool {
	ref := FilePrefix + path
	if _, ok := p.cfg.Secrets[ref]; ok {
		return true
	}
	if path == "" {
		p.errf(n, key, "empty path in ${file:}")
		return false
	}
	if why, failed := p.secretErr[ref]; failed {
		p.errf(n, key, "%s", why)
		return false
	}
	data, err := p.opts.ReadFile(p.path(path))
	if err != nil {
		why := fmt.Sprintf("cannot read the secret file of ${%s}: %v", ref, err)
		if p.secretErr == nil {
			p.secretErr = map[string]string{}
		}
		p.secretErr[ref] = why
		p.errf(n, key, "%s", why)
		return false
	}
	p.cfg.Secrets[ref] = strings.TrimRight(string(data), "\r\n")
	return true
}

// timelines loads the timeline files the services name, once each, and
// checks that their services are in the config.
func (p *parser) timelines() {
	loaded := map[string]bool{}
	ids := map[string]string{} // incident id -> file
	for _, ref := range p.timelineRefs {
		if loaded[ref.path] {
			continue
		}
		loaded[ref.path] = true
		data, err := p.opts.ReadFile(ref.path)
		if err != nil {
			p.errf(ref.node, ref.key, "cannot read the timeline: %v", err)
			continue
		}
		d := &decoder{file: ref.path, errs: p.errs}
		root, ok := d.parse(data)
		if !ok {
			continue
		}
		before := len(*p.errs)
		tl := d.timeline(root, func(inc *Incident, key string, serviceLine int) {
			if inc.Service != "" && p.cfg.Service(inc.Service) == nil {
				d.errf(&yaml.Node{Line: serviceLine}, key+".service", "service %q is not in the config %s", inc.Service, p.file)
			}
			if other, dup := ids[inc.ID]; dup && other != ref.path {
				d.errf(&yaml.Node{Line: inc.Line}, key+".id", "incident id %q is also used in %s", inc.ID, other)
			}
			ids[inc.ID] = ref.path
		})
		if len(*p.errs) == before {
			p.cfg.Timelines = append(p.cfg.Timelines, tl)
		}
	}
}
