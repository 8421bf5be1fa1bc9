package config

import "go.yaml.in/yaml/v3"

// This file decodes the services: section and its credit tiers.

var (
	serviceKeys = []string{"name", "objective", "credits", "timelines", "flows"}
	creditKeys  = []string{"below", "credit_percent"}
)

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
		// The flows are the config's largest slice (a Flow is ~250 bytes):
		// sized to the list, not grown by append (~1.25x at 50,000).
		p.flowItems(flowsNode, skey+".flows", func(n int) { svc.Flows = make([]Flow, 0, n) }, func(j int, fn *yaml.Node) {
			if f, ok := p.flow(fn, index(skey+".flows", j), svc.Name); ok {
				svc.Flows = append(svc.Flows, f)
			}
		})
		if len(svc.Flows) == 0 {
			svc.Flows = nil // as when appended to: no flows is nil
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
