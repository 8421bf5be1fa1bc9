package config

import (
	"sort"
	"strings"
)

// Service returns the service with the given name, or nil.
func (c *Config) Service(name string) *Service {
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

// Flow returns the flow with the given name and its service, or nils.
func (c *Config) Flow(name string) (*Service, *Flow) {
	for i := range c.Services {
		s := &c.Services[i]
		for j := range s.Flows {
			if s.Flows[j].Name == name {
				return s, &s.Flows[j]
			}
		}
	}
	return nil, nil
}

// Redact replaces every non-empty secret value in s with "***". Longer
// values are replaced first, so a secret that contains another is hidden
// whole.
func (c *Config) Redact(s string) string {
	if c == nil || len(c.Secrets) == 0 || s == "" {
		return s
	}
	vals := make([]string, 0, len(c.Secrets))
	for _, v := range c.Secrets {
		if v != "" {
			vals = append(vals, v)
		}
	}
	sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
	for _, v := range vals {
		s = strings.ReplaceAll(s, v, "***")
	}
	return s
}
