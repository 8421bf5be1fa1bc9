package config

import (
	"errors"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// This file decodes the reports: section (scheduled monthly reports and
// their delivery).

var (
	reportsKeys = []string{"schedule", "formats", "archive", "backfill", "revise", "retry", "webhooks", "email"}
	retryKeys   = []string{"attempts", "backoff", "max_backoff"}
	webhookKeys = []string{"url", "headers"}
	emailKeys   = []string{"server", "from", "to", "username", "password", "tls", "ca_file", "insecure_skip_verify"}
)

// ParseSchedule parses a reports.schedule cron expression: five fields
// (minute hour day-of-month month day-of-week) or a descriptor such as
// @monthly. One that names a date that never comes (30 February) is an
// error: the scheduler refuses a schedule without a next time.
func ParseSchedule(s string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(s)
	if err != nil {
		return nil, err
	}
	// The parser looks five years ahead: from any start, far enough for
	// 29 February.
	if sched.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, errNeverFires
	}
	return sched, nil
}

// errNeverFires: a schedule whose fields meet on no date.
var errNeverFires = errors.New("never fires (no such date)")

func (p *parser) reports(n *yaml.Node, key string) {
	r := &p.cfg.Reports
	*r = Reports{
		Enabled: true, Schedule: DefaultReportSchedule, Formats: []string{"pdf"}, // Archive "": beside the store (cmd run)
		Backfill: 1, Revise: 1, Line: n.Line,
		Retry: Retry{Attempts: DefaultRetryAttempts, Backoff: DefaultRetryBackoff, MaxBackoff: DefaultRetryMax},
	}
	p.object(n, key, reportsKeys, func(e entry, key string) {
		switch e.name {
		case "schedule":
			if s, ok := p.str(e.v, key); ok {
				if f := strings.Fields(s); len(f) > 0 && (strings.HasPrefix(f[0], "TZ=") || strings.HasPrefix(f[0], "CRON_TZ=")) {
					// The scheduler puts the config's zone in front
					// (CRON_TZ=...), and a second one fails there.
					p.errf(e.v, key, "%q names a time zone: the schedule follows the config's timezone; set that instead", s)
				} else if _, err := ParseSchedule(s); errors.Is(err, errNeverFires) {
					p.errf(e.v, key, "%q %v", s, err)
				} else if err != nil {
					p.errf(e.v, key, "invalid cron expression %q: %v (five fields: minute hour day month weekday, e.g. \"10 0 1 * *\")", s, err)
				} else {
					r.Schedule = s
				}
			}
		case "formats":
			var fs []string
			for i, fn := range p.seq(e.v, key) {
				s, ok := p.str(fn, index(key, i))
				if !ok {
					continue
				}
				if !slices.Contains(ReportFormats, s) {
					p.errf(fn, index(key, i), "unknown format %q: want one of pdf, html, json, csv, md", s)
					continue
				}
				if !slices.Contains(fs, s) {
					fs = append(fs, s)
				}
			}
			if len(fs) == 0 {
				p.errf(e.v, key, "list at least one format")
			} else {
				r.Formats = fs
			}
		case "archive":
			if s, ok := p.str(e.v, key); ok {
				if s == "" {
					p.errf(e.v, key, "must not be empty")
				} else {
					r.Archive = p.path(s)
				}
			}
		case "backfill", "revise":
			if v, ok := p.int(e.v, key); ok {
				if v < 0 || v > 120 {
					p.errf(e.v, key, "%d months: want 0 to 120", v)
				} else if e.name == "backfill" {
					r.Backfill = int(v)
				} else {
					r.Revise = int(v)
				}
			}
		case "retry":
			p.object(e.v, key, retryKeys, func(e entry, key string) {
				switch e.name {
				case "attempts":
					if v, ok := p.int(e.v, key); ok {
						if v < 1 || v > 1000 {
							p.errf(e.v, key, "%d: want 1 to 1000", v)
						} else {
							r.Retry.Attempts = int(v)
						}
					}
				case "backoff":
					if v, ok := p.positive(e.v, key); ok {
						r.Retry.Backoff = v
					}
				case "max_backoff":
					if v, ok := p.positive(e.v, key); ok {
						r.Retry.MaxBackoff = v
					}
				}
			})
			if r.Retry.MaxBackoff < r.Retry.Backoff {
				p.errf(e.v, key, "max_backoff %s is shorter than backoff %s", r.Retry.MaxBackoff, r.Retry.Backoff)
			}
		case "webhooks":
			for i, wn := range p.seq(e.v, key) {
				p.webhook(wn, index(key, i))
			}
		case "email":
			p.email(e.v, key)
		}
	})
}

func (p *parser) webhook(n *yaml.Node, key string) {
	w := Webhook{Headers: map[string]string{}, Line: n.Line}
	hasURL := false // an invalid url is its own error, not a missing one too
	p.object(n, key, webhookKeys, func(e entry, key string) {
		switch e.name {
		case "url":
			hasURL = true
			// The URL may hold ${env:NAME}/${file:PATH} secrets, or be one
			// (a receiver whose URL is its credential); it is checked
			// expanded, and quoted as written.
			if s, ok := p.str(e.v, key); ok && p.template(e.v, key, s, nil) {
				full, err := p.cfg.ExpandSecrets(s)
				if err != nil && p.opts.SecretsOptional {
					w.URL = s // a secret not set here (report, windows): only run sends
				} else if err != nil {
					p.errf(e.v, key, "%v", err)
				} else if u, err := url.Parse(full); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					p.errf(e.v, key, "invalid URL %q: want http:// or https:// and a host", s)
				} else {
					w.URL = s
				}
			}
		case "headers":
			for _, h := range p.entries(e.v, key) {
				hk := child(key, h.name)
				s, ok := p.str(h.v, hk)
				if !ok {
					continue
				}
				if !isToken(h.name) {
					p.errf(h.v, hk, "invalid header name %q", h.name)
					continue
				}
				if p.template(h.v, hk, s, nil) {
					w.Headers[h.name] = s
				}
			}
		}
	})
	if w.URL == "" {
		if !hasURL {
			p.errf(n, key, "url is required")
		}
		return
	}
	for i, o := range p.cfg.Reports.Webhooks {
		if o.Target() == w.Target() {
			p.errf(n, key, "the same target as webhooks[%d] once the URL's password and query values are hidden (%s): put a URL that differs only in those in ${env:NAME}", i, w.Target())
			return
		}
	}
	p.cfg.Reports.Webhooks = append(p.cfg.Reports.Webhooks, w)
}

func (p *parser) email(n *yaml.Node, key string) {
	m := &Email{TLS: "starttls", Line: n.Line}
	p.object(n, key, emailKeys, func(e entry, key string) {
		switch e.name {
		case "server":
			if s, ok := p.str(e.v, key); ok {
				if !validHostPort(s) {
					p.errf(e.v, key, "invalid address %q: use HOST:PORT, e.g. smtp.example.com:587", s)
				} else {
					m.Server = s
				}
			}
		case "from":
			if s, ok := p.str(e.v, key); ok {
				if _, err := mail.ParseAddress(s); err != nil {
					p.errf(e.v, key, "invalid address %q: %v", s, err)
				} else {
					m.From = s
				}
			}
		case "to":
			for i, tn := range p.seq(e.v, key) {
				s, ok := p.str(tn, index(key, i))
				if !ok {
					continue
				}
				if _, err := mail.ParseAddress(s); err != nil {
					p.errf(tn, index(key, i), "invalid address %q: %v", s, err)
					continue
				}
				m.To = append(m.To, s)
			}
		case "username", "password":
			if s, ok := p.str(e.v, key); ok && p.template(e.v, key, s, nil) {
				if e.name == "username" {
					m.Username = s
				} else {
					m.Password = s
				}
			}
		case "tls":
			if s, ok := p.str(e.v, key); ok {
				switch s {
				case "starttls", "tls", "none":
					m.TLS = s
				default:
					p.errf(e.v, key, "%q: want starttls, tls or none", s)
				}
			}
		case "ca_file":
			if s, ok := p.str(e.v, key); ok {
				m.CAFile = p.path(s)
			}
		case "insecure_skip_verify":
			if v, ok := p.bool(e.v, key); ok {
				m.InsecureSkipVerify = v
			}
		}
	})
	var missing []string
	if m.Server == "" {
		missing = append(missing, "server")
	}
	if m.From == "" {
		missing = append(missing, "from")
	}
	if len(m.To) == 0 {
		missing = append(missing, "to")
	}
	if len(missing) > 0 {
		p.errf(n, key, "%s required", strings.Join(missing, ", "))
		return
	}
	if (m.Username == "") != (m.Password == "") {
		p.errf(n, key, "username and password go together")
		return
	}
	if m.TLS == "none" && m.Password != "" {
		if host, _, _ := net.SplitHostPort(m.Server); !isLoopback(host) {
			p.errf(n, key, "tls: none would send the password in clear to %s: only allowed on loopback", host)
			return
		}
	}
	p.cfg.Reports.Email = m
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
