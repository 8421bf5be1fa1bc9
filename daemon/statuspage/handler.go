package statuspage

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"html/template"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/slaprobe/slaprobe/daemon"
)

//go:embed assets/page.html
var pageHTML string

//go:embed assets/page.css
var pageCSS string

//go:embed assets/page.js
var pageJS string

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// templates parses the page template once per Page.
func templates() (*template.Template, error) {
	return template.New("page").Funcs(template.FuncMap{
		"css": func() template.CSS { return template.CSS(pageCSS) },
		"js":  func() template.JS { return template.JS(pageJS) },
	}).Parse(pageHTML)
}

// Handler serves the page at "/" ("/?partial=1" is the part the page's
// script swaps in on refresh). The internal page (public false) also serves
// the archive under /reports/; the public one serves nothing else.
func (p *Page) Handler(public bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, p.tmpl, public) })
	if !public && p.opts.ArchiveDir != "" {
		mux.Handle("GET /reports/", http.StripPrefix("/reports/", http.FileServer(noListing{http.Dir(p.opts.ArchiveDir)})))
	}
	return mux
}

// Render writes the page (or its partial) to w: what one request does.
func (p *Page) Render(w *bytes.Buffer, public, partial bool) error {
	return p.render(w, p.tmpl, public, partial)
}

func (p *Page) render(buf *bytes.Buffer, tmpl *template.Template, public, partial bool) error {
	cfg := p.config()
	var live *daemon.Status
	if p.opts.Live != nil {
		st := p.opts.Live()
		live = &st
	}
	var archive []ArchiveMonth
	if !public && p.opts.Archive != nil {
		a, err := p.opts.Archive()
		if err != nil {
			p.opts.Logger.Warn("status page: listing the report archive", "err", err)
		}
		archive = a
	}
	v := build(cfg, p.snapshot(), live, public, archive, p.opts.Clock.Now(), cfg.Status.Title, cfg.Status.Refresh)
	name := "page"
	if partial {
		name = "main"
	}
	return tmpl.ExecuteTemplate(buf, name, v)
}

func (p *Page) serve(w http.ResponseWriter, r *http.Request, tmpl *template.Template, public bool) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := p.render(buf, tmpl, public, r.URL.Query().Get("partial") == "1"); err != nil {
		p.opts.Logger.Error("status page", "err", err)
		http.Error(w, "status page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		zw.Write(buf.Bytes()) //nolint:errcheck // the client went away
		return
	}
	w.Write(buf.Bytes()) //nolint:errcheck // the client went away
}

// noListing serves files but no directory listings.
type noListing struct{ fs http.FileSystem }

func (n noListing) Open(name string) (http.File, error) {
	f, err := n.fs.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, os.ErrNotExist
	}
	return f, nil
}
