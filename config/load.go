package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/internal/redact"
	"go.yaml.in/yaml/v3"
)

// Options are the loader's ways into the environment. Zero fields take the
// operating system's.
type Options struct {
	// LookupEnv resolves ${env:NAME}; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile reads the config (in Load), ${file:PATH} secrets, ca_file
	// and timelines; default ReadFile with the limit MaxFileBytes (regular
	// files only).
	ReadFile func(string) ([]byte, error)
	// SecretsOptional makes a ${env:NAME} that is not set, or a
	// ${file:PATH} that cannot be read, no error: its value is left out of
	// Secrets. For commands that only read results (windows, report) or
	// make rules (rules), which need no flow's credentials; expanding such a reference later (a
	// PostgreSQL password in storage.dsn) fails then.
	SecretsOptional bool
}

func (o Options) withDefaults() Options {
	if o.LookupEnv == nil {
		o.LookupEnv = os.LookupEnv
	}
	if o.ReadFile == nil {
		o.ReadFile = func(path string) ([]byte, error) { return ReadFile(path, MaxFileBytes) }
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
	DefaultHourRetention    = 13 * 31 * 24 * time.Hour // 13 months, however long
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
	topKeys    = []string{"location", "timezone", "listen", "storage", "defaults", "policy", "services", "maintenance", "alerting", "report", "status", "reports", "webhooks"}
	reportKeys = []string{"font"}
	builtins   = []string{RefRunID, RefLocation, RefNow, RefNowUnix, RefNowUnixMS, RefRandomID, RefWebhookURL}
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
// holds a secret's value. A large config is parsed a flow at a time
// (split.go), with the same result.
func Parse(file string, data []byte, opts Options) (*Config, error) {
	if len(data) >= splitMinBytes {
		p := newParser(file, data, opts)
		if p.load(true) {
			return p.result()
		}
		// A YAML syntax error: the whole document's, without its tree.
		if p.splitYAML {
			if err, ok := syntaxError(data, p.minCut, p.chunk); ok && err != nil {
				p := newParser(file, data, opts)
				p.yamlErr(err, data)
				return p.result()
			}
		}
	}
	cfg, _, err := parse(file, data, opts, false)
	return cfg, err
}

// parse is Parse of the whole document's tree, or (split) of the
// skeleton's and then each flow's; ok is false when the split parse cannot
// be sure of the whole document's result.
func parse(file string, data []byte, opts Options, split bool) (*Config, bool, error) {
	p := newParser(file, data, opts)
	if !p.load(split) {
		return nil, false, nil
	}
	cfg, err := p.result()
	return cfg, true, err
}

// result is the config loaded, or the problems found, redacted and sorted.
func (p *parser) result() (*Config, error) {
	if len(*p.errs) > 0 {
		for _, e := range *p.errs {
			e.Msg = p.redact(e.Msg)
			e.Key = p.redact(e.Key)
		}
		return nil, errOrNil(*p.errs, p.file)
	}
	return p.cfg, nil
}

func newParser(file string, data []byte, opts Options) *parser {
	p := &parser{
		decoder: newDecoder(file, &Errors{}, len(data)),
		opts:    opts.withDefaults(),
		dir:     filepath.Dir(file),
		cfg:     newConfig(file),
		flows:   map[string]int{},
		data:    data,
		chunk:   chunkBytes,
		minCut:  minCutBytes,
	}
	p.decoder.redact = p.redact
	return p
}

// load parses p.data into p.cfg and p.errs, the whole document or (split)
// the skeleton and then each flows list part; false when the split parse
// cannot be sure of the whole document's result.
func (p *parser) load(split bool) bool {
	var root *yaml.Node
	ok := true
	if split {
		if root, ok = p.parseSplit(p.data); !ok {
			return false
		}
	} else {
		root, ok = p.parse(p.data)
	}
	if ok {
		p.config(root)
		if split && !p.splitDone() {
			return false
		}
		if !p.exhausted {
			p.timelines()
		}
	}
	return true
}

func newConfig(file string) *Config {
	return &Config{
		File:     file,
		Location: DefaultLocation,
		Timezone: DefaultTimezone,
		Loc:      time.UTC,
		Listen:   DefaultListen,
		Storage:  Storage{Driver: DefaultDriver, Retention: DefaultRetention, HourRetention: DefaultHourRetention},
		Defaults: Defaults{
			Interval: DefaultInterval, Timeout: DefaultTimeout,
			DownAfter: DefaultDownAfter, UpAfter: DefaultUpAfter,
			MaxBodyBytes: DefaultMaxBodyBytes, MaxRedirects: DefaultMaxRedirects,
		},
		Policy:   Policy{Unknown: "exclude", Degraded: "up", Quorum: Quorum{Mode: "majority"}, FlapGap: DefaultFlapGap},
		Alerting: Alerting{Resend: DefaultResend, SeverityDown: DefaultSeverityDown, SeverityDegraded: DefaultSeverityDegraded},
		Status:   Status{Refresh: DefaultStatusRefresh},
		Secrets:  map[string]string{},
		Webhooks: defaultWebhooks(),
	}
}

// parser holds the state of one config load.
type parser struct {
	decoder
	// zoneWritten is whether the config writes its timezone (not the
	// default UTC), for the hints of maintenance times without offset.
	zoneWritten bool
	opts        Options
	dir         string
	cfg         *Config
	flows       map[string]int // flow name -> line, unique across services
	// timelineRefs are the services' timeline entries, for loading after
	// the services are known.
	timelineRefs []timelineRef
	secretErr    map[string]string // secret reference -> why it failed, to report each use
	listens      []listenAt        // the listeners' addresses as written (parse_listen.go)
	red          *redact.Redactor  // of the secrets known so far (red for redN of them)
	redN         int
	// flowOnly, while a session_end teardown step is read, holds the
	// names its templates cannot see: those the flow's steps extract.
	flowOnly map[string]bool

	// The split parse (split.go): the file, its flows lists cut out, and
	// the skeleton's empty values that stand for them.
	data        []byte
	chunk       int // bytes of a flows list parsed at once
	minCut      int // bytes a flows list must hold to be cut out
	pieces      int // flows list pieces parsed
	regions     []*flowsRegion
	split       map[*yaml.Node]*flowsRegion
	splitFailed bool // a piece was not what the whole document holds there
	splitYAML   bool // the skeleton or a piece was not YAML (syntaxError tells the whole document's)
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
	for _, e := range p.entries(root, "") {
		switch {
		case contains(topKeys, e.name):
			top[e.name] = e
		case strings.HasPrefix(e.name, "x-"):
			// An extension key, as in a Compose file: a place for anchors
			// the rest of the file aliases (x-common: &common ...), not
			// read otherwise.
		default:
			p.errf(e.k, e.name, "unknown key (expected one of: %s; or an x- key to hold anchors)", strings.Join(topKeys, ", "))
		}
	}
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
			loc, err := zone(s)
			if err != nil {
				p.errf(e.v, e.name, "%v", err)
			} else {
				c.Timezone, c.Loc = s, loc
				p.zoneWritten = true
			}
		}
	}
	if e, ok := top["listen"]; ok {
		if s, ok := p.str(e.v, e.name); ok {
			if !validHostPort(s) {
				p.errf(e.v, e.name, "invalid address %q: use HOST:PORT, e.g. 127.0.0.1:9115", s)
			} else {
				c.Listen = s
				p.noteListen(e.name, s, e.v)
			}
		}
	}
	if e, ok := top["storage"]; ok {
		p.storage(e.v, e.name)
	}
	if c.Storage.DSN == "" && c.Storage.Driver == DefaultDriver {
		c.Storage.DSN = DefaultDSN
	}
	if c.Storage.MinuteRetention == 0 {
		c.Storage.MinuteRetention = c.Storage.Retention
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
	if e, ok := top["status"]; ok {
		p.status(e.v, e.name)
	}
	if e, ok := top["reports"]; ok {
		p.reports(e.v, e.name)
	}
	if e, ok := top["webhooks"]; ok {
		p.webhooks(e.v, e.name)
	}
	if e, ok := top["report"]; ok {
		p.object(e.v, e.name, reportKeys, func(e entry, key string) {
			if s, ok := p.str(e.v, key); ok {
				c.Report.Font = p.path(s)
				p.checkFont(e.v, key, c.Report.Font)
			}
		})
	}
	p.listenersApart()
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
	if v > MaxBodyLimit {
		p.errf(n, key, "%s is more than the limit of 1GiB", quote(s))
		return 0, false
	}
	return v, true
}

func isList(n *yaml.Node) bool { return n != nil && n.Kind == yaml.SequenceNode }

// redact removes the secrets loaded so far from s; a value quoted in an
// error is redacted before it is clipped, so that no prefix of a secret
// survives the cut.
func (p *parser) redact(s string) string {
	if len(p.cfg.Secrets) == 0 {
		return s
	}
	if p.red == nil || p.redN != len(p.cfg.Secrets) {
		p.red, p.redN = p.cfg.Redactor(), len(p.cfg.Secrets)
	}
	return p.red.Redact(s)
}
