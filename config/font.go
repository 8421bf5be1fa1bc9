package config

import (
	"go.yaml.in/yaml/v3"
	"golang.org/x/image/font/sfnt"
)

// checkFont reads report.font and checks that the PDF renderer can use it:
// a TrueType font (sfnt with glyf outlines; a CFF-based OpenType font, "OTTO",
// is refused there too). Whether it covers the report's names is known only
// when a report is made.
func (p *parser) checkFont(n *yaml.Node, key, path string) {
	data, err := p.opts.ReadFile(path)
	switch {
	case err != nil:
		p.errf(n, key, "cannot read the font: %v", err)
	case len(data) >= 4 && string(data[:4]) == "OTTO":
		p.errf(n, key, "%s: CFF-based OpenType fonts are not supported; use a TrueType (.ttf) font", path)
	default:
		if _, err := sfnt.Parse(data); err != nil {
			p.errf(n, key, "%s: not a TrueType font: %v", path, err)
		}
	}
}
