package config

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// This file decodes the policy: section.

var (
	policyKeys = []string{"unknown", "degraded", "quorum", "flap_gap", "min_coverage"}
)

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
		case "min_coverage":
			if v, ok := p.float(e.v, key); ok {
				if v < 0 || v > 1 {
					p.errf(e.v, key, "min_coverage %v is outside [0, 1] (a share of the period: 0.5 is half; 0 is off)", v)
				} else {
					pol.MinCoverage = v
				}
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
