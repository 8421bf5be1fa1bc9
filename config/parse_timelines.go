package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// This file decodes the timeline files the services name.

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
		d := newDecoder(ref.path, p.errs, len(data))
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
			// Incidents of one service in two files are reconciled
			// together too: one that overlaps an earlier file's (as
			// LoadTimelines does for demo's and platform's).
			for i, inc := range tl.Incidents {
				for _, prev := range p.cfg.Timelines {
					if w, ok := overlapWarning(prev.Incidents, inc, ref.path, index("incidents", i), func(o Incident) string { return fmt.Sprintf("%s line %d", prev.File, o.Line) }); ok {
						tl.warnings = append(tl.warnings, w)
						break
					}
				}
			}
			p.cfg.Timelines = append(p.cfg.Timelines, tl)
		}
	}
}
