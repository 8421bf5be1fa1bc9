package config

import (
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes the alerting: section.

var (
	alertingKeys = []string{"alertmanager", "runbook_url", "severity"}
	amKeys       = []string{"urls", "resend"}
	severityKeys = []string{"down", "degraded"}
)

func (p *parser) alerting(n *yaml.Node, key string) {
	a := &p.cfg.Alerting
	p.object(n, key, alertingKeys, func(e entry, key string) {
		switch e.name {
		case "alertmanager":
			p.object(e.v, key, amKeys, func(e entry, key string) {
				switch e.name {
				case "urls":
					// A URL may hold secrets (${env:NAME}, ${file:PATH}: the
					// credentials of an Alertmanager behind basic
					// authentication); it is checked with them filled in, as
					// run sends to it, and quoted as written.
					var full []string
					for i, un := range p.seq(e.v, key) {
						s, ok := p.str(un, index(key, i))
						if !ok || !p.template(un, index(key, i), s, nil) {
							continue
						}
						f, err := p.cfg.ExpandSecrets(s)
						if err != nil {
							if !p.opts.SecretsOptional {
								p.errf(un, index(key, i), "%v", err)
							} else if !slices.Contains(a.AlertmanagerURLs, s) {
								a.AlertmanagerURLs = append(a.AlertmanagerURLs, s) // not set here (report, windows): only run sends
							}
							continue
						}
						u, err := url.Parse(f)
						switch {
						case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
							p.errf(un, index(key, i), "invalid URL %q: want http:// or https:// and a host", s)
							continue
						case u.RawQuery != "" || u.Fragment != "":
							// The notifier posts to URL/api/v2/alerts: it refuses
							// them at start, so check does too.
							p.errf(un, index(key, i), "%q: no query or fragment (want http(s)://host[:port][/prefix])", s)
							continue
						case slices.Contains(full, f):
							p.errf(un, index(key, i), "%q is listed twice", s)
							continue
						}
						full = append(full, f)
						a.AlertmanagerURLs = append(a.AlertmanagerURLs, s)
					}
				case "resend":
					if v, ok := p.atLeast(e.v, key, MinResend); ok {
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
