package config

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// This file decodes the maintenance: section.

var (
	maintenanceKeys = []string{"service", "start", "end", "reason"}
)

func (p *parser) maintenance(n *yaml.Node, key string) {
	for i, mn := range p.seq(n, key) {
		mkey := index(key, i)
		rn, ok := p.item(mn, mkey)
		if !ok {
			continue
		}
		m := Maintenance{Line: rn.Line}
		var loc *time.Location // a time without offset is read in it for the error's hint, when written
		if p.zoneWritten {
			loc = p.cfg.Loc
		}
		var startNode, endNode *yaml.Node
		p.object(rn, mkey, maintenanceKeys, func(e entry, key string) {
			switch e.name {
			case "service":
				// A service the config does not probe is allowed (DESIGN's
				// own example names one): it matches nothing.
				if s, ok := p.str(e.v, key); ok {
					if problem := nameProblem(s); s != "" && s != "*" && problem != "" {
						p.errf(e.v, key, "invalid name %q: %s", s, problem)
					}
					m.Service = s
				}
			case "start":
				startNode = e.v
				m.Start, _ = p.zonedTimeOf(e.v, key, loc, "the config's timezone")
				m.StartLine = e.v.Line
			case "end":
				endNode = e.v
				m.End, _ = p.zonedTimeOf(e.v, key, loc, "the config's timezone")
				m.EndLine = e.v.Line
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
			p.errf(endNode, mkey+".end", "%s", endNotAfterStart(m.Start, m.End, loc, "the config's timezone"))
		}
		p.cfg.Maintenance = append(p.cfg.Maintenance, m)
	}
}
