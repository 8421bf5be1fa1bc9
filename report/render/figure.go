package render

import (
	"fmt"
	"html"
	"image/color"
	"math"
	"strconv"
	"strings"

	"github.com/johnfercher/go-tree/node"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/linestyle"
	"github.com/johnfercher/maroto/v2/pkg/consts/orientation"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"
)

// A figure (the function timeline, a daily availability chart) is laid out
// once as shapes on a canvas w units wide and h high, then drawn as SVG for
// the HTML report and as vector graphics for the PDF (the timeline also as
// PNG, Timeline.PNG). Layouts use horizontal and vertical lines only: that
// is all the PDF drawing can do (see pdfFigure).
type figure struct {
	shapes []shape
	w, h   float64
}

// shape is one drawing primitive of a layout.
type shape struct {
	kind       int // shapeRect, shapeLine, shapeText
	x, y, w, h float64
	fill       color.RGBA // zero alpha: none
	stroke     color.RGBA // zero alpha: none
	width      float64
	dash       []float64
	hatch      bool // lines in the stroke colour, inside the rectangle
	text       string
	size       float64
	bold       bool
	anchor     string // start | middle | end
	title      string // tooltip (SVG)
}

const (
	shapeRect = iota
	shapeLine
	shapeText
)

// writeSVGShapes writes the shapes as SVG elements, every text and title
// escaped.
func writeSVGShapes(b *strings.Builder, shapes []shape) {
	for _, s := range shapes {
		switch s.kind {
		case shapeRect:
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s>`, num(s.x), num(s.y), num(s.w), num(s.h), svgColor(s.fill), svgStroke(s))
			if s.title != "" {
				fmt.Fprintf(b, `<title>%s</title>`, html.EscapeString(s.title))
			}
			b.WriteString(`</rect>`)
			if s.hatch {
				for _, l := range hatchLines(s.x, s.y, s.w, s.h, 3.5) {
					fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="0.8"/>`, num(l[0]), num(l[1]), num(l[2]), num(l[3]), svgColor(s.stroke))
				}
			}
		case shapeLine:
			fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"%s/>`, num(s.x), num(s.y), num(s.x+s.w), num(s.y+s.h), svgStroke(s))
		case shapeText:
			weight := ""
			if s.bold {
				weight = ` font-weight="bold"`
			}
			fmt.Fprintf(b, `<text x="%s" y="%s" font-size="%s" fill="%s" text-anchor="%s"%s>%s</text>`, num(s.x), num(s.y), num(s.size), svgColor(s.fill), s.anchor, weight, html.EscapeString(s.text))
		}
	}
}

func num(v float64) string { return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64) }

func svgColor(c color.RGBA) string {
	if c.A == 0 {
		return "none"
	}
	return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B)
}

func svgStroke(s shape) string {
	if s.stroke.A == 0 {
		return ""
	}
	out := fmt.Sprintf(` stroke="%s" stroke-width="%s"`, svgColor(s.stroke), num(s.width))
	if len(s.dash) > 0 {
		var ds []string
		for _, d := range s.dash {
			ds = append(ds, num(d))
		}
		out += ` stroke-dasharray="` + strings.Join(ds, " ") + `"`
	}
	return out
}

// hatchLines are 45° lines every gap units, clipped to the rectangle (the
// SVG and PNG hatch).
func hatchLines(x, y, w, h, gap float64) [][4]float64 {
	var out [][4]float64
	for k := x - h; k < x+w; k += gap {
		// The line (k+u, y+h-u) for u in [0, h], clipped to x..x+w.
		u0, u1 := math.Max(0, x-k), math.Min(h, x+w-k)
		if u1 <= u0 {
			continue
		}
		out = append(out, [4]float64{k + u0, y + h - u0, k + u1, y + h - u1})
	}
	return out
}

// pdfFigure is a maroto component that draws a figure as PDF vector
// graphics, scaled to the width of its cell; its text is set in the
// report's font, so it is sharp at any zoom and can be searched.
//
// It replaces the PNG images the PDF used to embed: gofpdf writes a
// document's images in the order of a Go map, so a PDF with more than one
// image came out different on every run. maroto lets a component draw
// horizontal and vertical lines and text, no other path: a filled
// rectangle is one line as thick as the rectangle, an outline four lines,
// a hatch vertical stripes, a dashed line maroto's 1 mm dashes.
type pdfFigure struct {
	fig figure
}

func (f *pdfFigure) GetHeight(_ core.Provider, cell *entity.Cell) float64 {
	return cell.Width * f.fig.h / f.fig.w
}

func (f *pdfFigure) SetConfig(*entity.Config) {}

func (f *pdfFigure) GetStructure() *node.Node[core.Structure] {
	return node.New(core.Structure{Type: "figure"})
}

func (f *pdfFigure) Render(p core.Provider, cell *entity.Cell) {
	k := cell.Width / f.fig.w
	// line draws from (x0, y) to (x1, y) when vertical is false, from
	// (x, y0) to (x, y1) when it is true, in canvas units. Butt ends: a
	// rectangle's edges are lengthened by half their width to close the
	// corners.
	line := func(vertical bool, at, from, to, width float64, c color.RGBA, dashed bool) {
		if from > to {
			from, to = to, from
		}
		if to-from <= 0 || width <= 0 || c.A == 0 {
			return
		}
		l := props.Line{Color: pdfColor(c), Thickness: width * k, SizePercent: 100, OffsetPercent: 50, Style: linestyle.Solid}
		if dashed {
			l.Style = linestyle.Dashed
		}
		box := entity.Cell{X: cell.X + from*k, Y: cell.Y + (at-width/2)*k, Width: (to - from) * k, Height: width * k}
		l.Orientation = orientation.Horizontal
		if vertical {
			box = entity.Cell{X: cell.X + (at-width/2)*k, Y: cell.Y + from*k, Width: width * k, Height: (to - from) * k}
			l.Orientation = orientation.Vertical
		}
		p.AddLine(&box, &l)
	}
	for _, s := range f.fig.shapes {
		switch s.kind {
		case shapeRect:
			if s.w <= 0 || s.h <= 0 {
				continue
			}
			if s.fill.A != 0 {
				line(false, s.y+s.h/2, s.x, s.x+s.w, s.h, s.fill, false)
			}
			if s.hatch {
				for x := s.x + 1.75; x < s.x+s.w; x += 3.5 {
					line(true, x, s.y, s.y+s.h, 0.8, s.stroke, false)
				}
			}
			if s.stroke.A != 0 {
				d, t := len(s.dash) > 0, s.width
				line(false, s.y, s.x-t/2, s.x+s.w+t/2, t, s.stroke, d)
				line(false, s.y+s.h, s.x-t/2, s.x+s.w+t/2, t, s.stroke, d)
				line(true, s.x, s.y, s.y+s.h, t, s.stroke, d)
				line(true, s.x+s.w, s.y, s.y+s.h, t, s.stroke, d)
			}
		case shapeLine:
			switch {
			case s.w == 0:
				line(true, s.x, s.y, s.y+s.h, s.width, s.stroke, len(s.dash) > 0)
			case s.h == 0:
				line(false, s.y, s.x, s.x+s.w, s.width, s.stroke, len(s.dash) > 0)
			}
		case shapeText:
			style := fontstyle.Normal
			if s.bold {
				style = fontstyle.Bold
			}
			size := s.size * k * 72 / 25.4 // points
			t := props.Text{Family: fontFamily, Style: style, Size: size, Color: pdfColor(s.fill), Align: align.Left}
			// maroto sets a line's baseline one font height below the
			// top of its cell and wraps at the cell's width: the cell is
			// as wide as the figure, placed so that the anchor is at x.
			w := cell.Width
			x := cell.X + s.x*k
			switch s.anchor {
			case "middle":
				x, t.Align = x-w/2, align.Center
			case "end":
				x, t.Align = x-w, align.Right
			}
			top := cell.Y + s.y*k - p.GetFontHeight(&props.Font{Family: fontFamily, Style: style, Size: size})
			p.AddText(s.text, &entity.Cell{X: x, Y: top, Width: w, Height: s.size * k}, &t)
		}
	}
}

func pdfColor(c color.RGBA) *props.Color {
	return &props.Color{Red: int(c.R), Green: int(c.G), Blue: int(c.B)}
}
