package statuspage

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/slaprobe/slaprobe/config"
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

// pageCSP is the page's Content-Security-Policy: nothing from anywhere
// but the page's own inline script (allowed by its hash, so that no other
// inline script runs, should a value ever escape its escaping), its inline
// styles (the page's stylesheet and the SVGs' style attributes), fetches of
// its partial, and data: images; no framing.
func pageCSP(js string) string {
	sum := sha256.Sum256([]byte(js))
	return "default-src 'none'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; style-src 'unsafe-inline'; " +
		"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// archiveCSP is sent with every archived file but PDFs: an HTML report opens
// sandboxed (a unique origin, no script), so that it can never act as the
// status page's origin, whose /api/v1/status and /webhooks/ it would share.
const archiveCSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"

// Handler serves the page at "/" ("/?partial=1" is the part the page's
// script swaps in on refresh). The internal page (public false) also serves
// the archive under /reports/; the public one serves nothing else.
func (p *Page) Handler(public bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { p.serve(w, r, p.tmpl, public) })
	if !public && p.opts.ArchiveDir != "" {
		mux.Handle("GET /reports/", http.StripPrefix("/reports/", archiveHandler(p.opts.ArchiveDir)))
	}
	return mux
}

// archiveHandler serves the files of the report archive in dir: no
// directory listings, no dot files (a version being written), and nothing
// outside dir, through a symbolic link either (the directory is opened as
// an os.Root for each request: it may not exist until the first report).
func archiveHandler(dir string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, el := range strings.Split(r.URL.Path, "/") {
			if strings.HasPrefix(el, ".") {
				http.NotFound(w, r)
				return
			}
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer root.Close()
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if !strings.HasSuffix(r.URL.Path, ".pdf") {
			// Not on PDFs: browsers' PDF viewers refuse sandboxed
			// documents (and a PDF cannot script the origin).
			h.Set("Content-Security-Policy", archiveCSP)
		}
		http.FileServerFS(noListing{root.FS()}).ServeHTTP(w, r)
	})
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
	if p.opts.StoreHealth != nil {
		// The figures are built from the store: while runs wait to be
		// stored (a full disk, a locked or unreachable database), they
		// leave out what was measured since, however freshly built.
		if ok, why := p.opts.StoreHealth(); !ok {
			stale := "results are not being stored: the figures may leave out the latest runs"
			if !public {
				stale += " (" + why + ")"
			}
			if v.Stale != "" {
				stale = v.Stale + "; " + stale
			}
			v.Stale = stale
		}
	}
	name := "page"
	if partial {
		name = "main"
	}
	return tmpl.ExecuteTemplate(buf, name, v)
}

// publicCacheFor is how long the public page serves the bytes it rendered
// (each variant: page or partial, gzip or not) before it renders again.
// The public listener is reachable from the internet and a render costs
// milliseconds of CPU, which the probes' timings share: a client looping
// on the page must not be able to take the prober's cores. A second is
// far below the page's refresh, so nobody sees older figures for it.
const publicCacheFor = time.Second

// pubKey is a variant of the public page.
type pubKey struct{ partial, gzip bool }

// pubBytes is a variant's rendered bytes, kept for [from, from+publicCacheFor)
// of the page's clock while the figures and the config are those it was
// rendered from. It names them by weak pointers: a variant nobody asks for
// again must not keep a snapshot (its month report) or a config the page
// no longer uses alive.
type pubBytes struct {
	body []byte
	from time.Time
	snap weak.Pointer[snapshot]
	cfg  weak.Pointer[config.Config]
}

func (p *Page) serve(w http.ResponseWriter, r *http.Request, tmpl *template.Template, public bool) {
	partial, gz := r.URL.Query().Get("partial") == "1", acceptsGzip(r.Header.Values("Accept-Encoding"))
	var body []byte
	if public {
		b, err := p.publicBytes(tmpl, pubKey{partial: partial, gzip: gz})
		if err != nil {
			p.opts.Logger.Error("status page", "err", err)
			http.Error(w, "status page failed", http.StatusInternalServerError)
			return
		}
		body = b
	} else {
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer bufPool.Put(buf)
		if err := p.render(buf, tmpl, public, partial); err != nil {
			p.opts.Logger.Error("status page", "err", err)
			http.Error(w, "status page failed", http.StatusInternalServerError)
			return
		}
		body = buf.Bytes()
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", p.csp)
	h.Add("Vary", "Accept-Encoding") // either answer depends on it
	if gz {
		h.Set("Content-Encoding", "gzip")
		if public {
			w.Write(body) //nolint:errcheck // the client went away (gzipped already)
			return
		}
		zw := gzip.NewWriter(w)
		defer zw.Close()
		zw.Write(body) //nolint:errcheck // the client went away
		return
	}
	w.Write(body) //nolint:errcheck // the client went away
}

// publicBytes returns the public page's variant k, rendered (and gzipped)
// at most once per publicCacheFor: requests that come while it renders
// wait for it rather than render it too. New figures (a rebuild), a
// reloaded config or a wall clock stepped back render it again at once.
func (p *Page) publicBytes(tmpl *template.Template, k pubKey) ([]byte, error) {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	now, snap, cfg := p.opts.Clock.Now(), weak.Make(p.snapshot()), weak.Make(p.config())
	if c, ok := p.pub[k]; ok && c.snap == snap && c.cfg == cfg && !now.Before(c.from) && now.Before(c.from.Add(publicCacheFor)) {
		return c.body, nil
	}
	var buf bytes.Buffer
	if err := p.render(&buf, tmpl, true, k.partial); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	if k.gzip {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		zw.Write(body) //nolint:errcheck // a bytes.Buffer does not fail
		zw.Close()     //nolint:errcheck // a bytes.Buffer does not fail
		body = zb.Bytes()
	}
	if p.pub == nil {
		p.pub = map[pubKey]pubBytes{}
	}
	p.pub[k] = pubBytes{body: body, from: now, snap: snap, cfg: cfg}
	return body, nil
}

// acceptsGzip reports whether Accept-Encoding takes gzip: "gzip" or "*"
// without q=0 (RFC 9110, 12.5.3), gzip's own entry deciding over "*".
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for _, el := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(el, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			ok := true
			for _, p := range strings.Split(params, ";") {
				k, q, found := strings.Cut(strings.TrimSpace(p), "=")
				if found && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
					ok = err == nil && f > 0
				}
			}
			if coding == "*" {
				star = ok
				continue
			}
			return ok
		}
	}
	return star
}

// noListing serves regular files only: no directory listings (nor
// index.html), devices or FIFOs.
type noListing struct{ fsys fs.FS }

func (n noListing) Open(name string) (fs.File, error) {
	f, err := n.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, errors.Join(fs.ErrNotExist, err)
	}
	return f, nil
}
