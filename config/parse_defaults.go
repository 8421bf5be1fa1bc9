package config

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file decodes knobs shared by defaults: and flows, the tls: block and the defaults: section.

var (
	defaultsKeys = []string{"interval", "timeout", "down_after", "up_after", "confirm_every", "max_body_bytes", "max_redirects", "tls"}
	tlsKeys      = []string{"ca_file", "server_name", "insecure_skip_verify", "cert_file", "key_file"}
)

// knobs are the settings a flow may override from the defaults.
type knobs struct {
	interval, timeout   time.Duration
	downAfter, upAfter  int
	maxBody             int64
	maxRedirects        int
	tls                 TLS
	setInterval, setTim bool
	confirm             time.Duration // with setConfirm; 0 = off
	setConfirm          bool
	confirmNode         *yaml.Node
}

// knob decodes one of the shared defaults/flow keys into k; it reports
// whether name was one of them.
func (p *parser) knob(k *knobs, e entry, key string) bool {
	switch e.name {
	case "interval":
		if v, ok := p.atLeast(e.v, key, MinInterval); ok {
			k.interval, k.setInterval = v, true
		}
	case "timeout":
		if v, ok := p.atLeast(e.v, key, MinTimeout); ok {
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
	case "confirm_every":
		if v, ok := p.duration(e.v, key); ok {
			if v != 0 && v < MinConfirmEvery {
				p.errf(e.v, key, "must be 0s (off) or at least %v", MinConfirmEvery)
			} else {
				k.confirm, k.setConfirm, k.confirmNode = v, true, e.v
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
	var certNode, keyNode *yaml.Node
	p.object(n, key, tlsKeys, func(e entry, key string) {
		switch e.name {
		case "cert_file", "key_file":
			s, ok := p.str(e.v, key)
			if !ok {
				return
			}
			if s == "" {
				p.errf(e.v, key, "must not be empty")
				return
			}
			if e.name == "cert_file" {
				certNode, t.CertFile = e.v, p.path(s)
			} else {
				keyNode, t.KeyFile = e.v, p.path(s)
			}
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
	rn := p.resolve(n)
	switch {
	case certNode != nil && keyNode == nil:
		p.errf(rn, key+".key_file", "is required with cert_file (the client certificate's private key)")
	case keyNode != nil && certNode == nil:
		p.errf(rn, key+".cert_file", "is required with key_file")
	case certNode != nil:
		cert, err1 := p.opts.ReadFile(t.CertFile)
		pkey, err2 := p.opts.ReadFile(t.KeyFile)
		switch {
		case err1 != nil:
			p.errf(certNode, key+".cert_file", "cannot read the client certificate: %v", err1)
		case err2 != nil:
			p.errf(keyNode, key+".key_file", "cannot read the client key: %v", err2)
		default:
			if _, err := tls.X509KeyPair(cert, pkey); err != nil {
				// The error names no key material.
				p.errf(certNode, key+".cert_file", "client certificate and key do not load as a pair: %v", err)
			}
		}
	}
}

func (p *parser) defaults(n *yaml.Node, key string) {
	df := &p.cfg.Defaults
	k := knobs{interval: df.Interval, timeout: df.Timeout, downAfter: df.DownAfter, upAfter: df.UpAfter,
		maxBody: df.MaxBodyBytes, maxRedirects: df.MaxRedirects, confirm: df.ConfirmEvery, setConfirm: df.ConfirmEverySet}
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
	if k.confirmNode != nil && k.confirm > k.interval {
		p.errf(k.confirmNode, key+".confirm_every", "confirm_every %v is longer than the interval %v", k.confirm, k.interval)
	}
	*df = Defaults{Interval: k.interval, Timeout: k.timeout, DownAfter: k.downAfter, UpAfter: k.upAfter,
		ConfirmEvery: k.confirm, ConfirmEverySet: k.setConfirm,
		MaxBodyBytes: k.maxBody, MaxRedirects: k.maxRedirects, TLS: k.tls}
}

// MinConfirmEvery is the shortest confirm_every other than 0s (off): a
// flow that fails at once must not be re-run in a tight loop.
const MinConfirmEvery = time.Second

// ConfirmEveryFor is the confirm_every of a flow with the given interval
// when neither the flow nor the defaults set one: a sixth of the interval,
// at least MinConfirmEvery, and 0 (off) when that is not shorter than the
// interval.
func ConfirmEveryFor(interval time.Duration) time.Duration {
	c := max(interval/6, MinConfirmEvery)
	if c >= interval {
		return 0
	}
	return c
}

// SetInterval gives every flow the interval d after parsing (demo
// --interval) and resolves its confirm_every again as the parser would for
// d: one the flow took from the defaults (or the default, a sixth of the
// interval) follows the new interval; the flow's own is kept while it is
// shorter than d, and is off otherwise. A flow's own confirm_every equal to
// the one it would have taken is taken as not its own.
func (c *Config) SetInterval(d time.Duration) {
	df := c.Defaults
	for i := range c.Services {
		for j := range c.Services[i].Flows {
			f := &c.Services[i].Flows[j]
			k := knobs{interval: f.Interval, confirm: df.ConfirmEvery, setConfirm: df.ConfirmEverySet}
			inherited := f.ConfirmEvery == k.confirmEvery(false)
			k.interval = d
			switch {
			case inherited:
				f.ConfirmEvery = k.confirmEvery(false)
			case f.ConfirmEvery >= d:
				f.ConfirmEvery = 0
			}
			f.Interval = d
		}
	}
}

// ConfirmEveryAt is the confirm_every a flow with the given interval takes
// from d when it sets none of its own: the defaults' (off where it is not
// shorter than the interval), or ConfirmEveryFor(interval). A report
// accounts a flow the config no longer has with it, as with the defaults'
// down_after and up_after.
func (d Defaults) ConfirmEveryAt(interval time.Duration) time.Duration {
	k := knobs{interval: interval, confirm: d.ConfirmEvery, setConfirm: d.ConfirmEverySet}
	return k.confirmEvery(false)
}

// confirmEvery resolves a flow's confirm_every from its knobs: its own, or
// the defaults' (off where it is not shorter than the flow's interval), or
// ConfirmEveryFor(interval).
func (k *knobs) confirmEvery(own bool) time.Duration {
	switch {
	case !k.setConfirm:
		return ConfirmEveryFor(k.interval)
	case !own && k.confirm >= k.interval:
		return 0
	}
	return k.confirm
}
