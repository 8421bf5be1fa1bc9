package probe

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/redact"
)

// The request kind: one HTTP request per attempt, checked for its status
// and then with the step's payload check (JSONPath, body, headers,
// extraction) on the response.

// httpStep is a compiled request step.
type httpStep struct {
	method  string
	url     tmpl
	headers []compiledHeader
	host    *tmpl
	body    *compiledBody // nil: none (most steps: 120 B a step saved)
	status  []int         // allowed statuses; empty: 200-399
}

// compileHTTP parses a request and the status expectation.
func compileHTTP(r *config.Request, e *config.Expect, sy *symbols) (*httpStep, error) {
	h := &httpStep{method: strings.ToUpper(r.Method)}
	if h.method == "" {
		h.method = http.MethodGet
	}
	var err error
	if r.URL == "" {
		return nil, errors.New("request: no url")
	}
	if h.url, err = sy.compile(r.URL); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if h.url.static {
		if _, err := url.Parse(h.url.lit); err != nil {
			return nil, fmt.Errorf("url: %w", err)
		}
	}
	if h.headers, h.host, err = compileHeaders(r.Headers, sy); err != nil {
		return nil, err
	}
	var body compiledBody
	if err := body.compile(r, sy); err != nil {
		return nil, err
	}
	if body.kind != bodyNone {
		h.body = &body
	}
	if h.status, err = compileStatus(e.Status); err != nil {
		return nil, err
	}
	return h, nil
}

// compileHeaders parses request headers in name order; a Host header is
// returned apart (it sets the request's Host).
func compileHeaders(hs map[string]string, sy *symbols) ([]compiledHeader, *tmpl, error) {
	names := make([]string, 0, len(hs))
	for k := range hs {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []compiledHeader
	var host *tmpl
	for _, k := range names {
		t, err := sy.compile(hs[k])
		if err != nil {
			return nil, nil, fmt.Errorf("header %s: %w", k, err)
		}
		key := http.CanonicalHeaderKey(k)
		if key == "Host" {
			host = &t
			continue
		}
		cred := credentialHeader(key)
		if cred {
			sy.markCredential(&t)
		}
		out = append(out, compiledHeader{key: key, value: t, cred: cred})
	}
	return out, host, nil
}

// compileStatus checks the allowed statuses.
func compileStatus(st []int) ([]int, error) {
	for _, s := range st {
		if s < 100 || s > 999 {
			return nil, fmt.Errorf("expect: status %d out of range", s)
		}
	}
	return slices.Clone(st), nil
}

type compiledHeader struct {
	key   string // canonical
	value tmpl
	cred  bool // a credential header: what it sends is redacted from messages
}

// credentialHeader reports whether a canonical header name carries
// credentials.
func credentialHeader(key string) bool {
	return key == "Authorization" || key == "Proxy-Authorization" || key == "Cookie"
}

// render renders the header's value in the run's scope; a credential's
// value (and its part after the scheme, "Bearer TOKEN") joins the run's
// redaction.
func (h *compiledHeader) render(rs *runState) (string, error) {
	v, err := h.value.render(&rs.sc)
	if err == nil {
		// A value a variable brought a line break into (a token with a
		// newline in a JSON string): say so, not Go's "invalid header
		// field value", and never the value (it may be a credential).
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
				what := "a control character"
				if c == '\n' || c == '\r' {
					what = "a line break"
				}
				return "", fmt.Errorf("the value holds %s, which a header cannot carry", what)
			}
		}
	}
	if err == nil && h.cred {
		rs.note(v)
		if _, cred, ok := strings.Cut(v, " "); ok {
			rs.note(strings.TrimSpace(cred))
		}
	}
	return v, err
}

type bodyKind uint8

const (
	bodyNone bodyKind = iota
	bodyJSON
	bodyForm
	bodyRaw
)

type compiledBody struct {
	kind        bodyKind
	contentType string
	json        *jnode
	form        []formField
	raw         tmpl
}

type formField struct {
	key   string
	value tmpl
}

func (b *compiledBody) compile(r *config.Request, sy *symbols) error {
	n := 0
	if r.JSON != nil {
		n++
		node, err := compileJSON(r.JSON, sy, 0)
		if err != nil {
			return fmt.Errorf("json: %w", err)
		}
		b.kind, b.json, b.contentType = bodyJSON, node, "application/json"
	}
	if r.Form != nil {
		n++
		b.kind, b.contentType = bodyForm, "application/x-www-form-urlencoded"
		keys := make([]string, 0, len(r.Form))
		for k := range r.Form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t, err := sy.compile(r.Form[k])
			if err != nil {
				return fmt.Errorf("form %s: %w", k, err)
			}
			b.form = append(b.form, formField{key: k, value: t})
		}
	}
	if r.Body != "" {
		n++
		t, err := sy.compile(r.Body)
		if err != nil {
			return fmt.Errorf("body: %w", err)
		}
		b.kind, b.raw = bodyRaw, t
	}
	if n > 1 {
		return errors.New("request: more than one of json, form, body")
	}
	return nil
}

// jnode is a compiled JSON body: literal JSON, a string template, an object
// or an array. A subtree without templates is pre-encoded in lit.
type jnode struct {
	lit    []byte // pre-encoded, when static
	str    *tmpl
	keys   []tmpl
	vals   []*jnode
	isObj  bool
	static bool
}

const maxJSONDepth = 200

func compileJSON(v any, sy *symbols, depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	var n *jnode
	switch x := v.(type) {
	case string:
		t, err := sy.compile(x)
		if err != nil {
			return nil, err
		}
		n = &jnode{str: &t, static: t.static}
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		n = &jnode{isObj: true, static: true}
		for _, k := range keys {
			kt, err := sy.compile(k)
			if err != nil {
				return nil, err
			}
			c, err := compileJSON(x[k], sy, depth+1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, kt)
			n.vals = append(n.vals, c)
			n.static = n.static && kt.static && c.static
		}
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = e
		}
		return compileJSON(m, sy, depth)
	case []any:
		n = &jnode{static: true, vals: []*jnode{}}
		for _, e := range x {
			c, err := compileJSON(e, sy, depth+1)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, c)
			n.static = n.static && c.static
		}
	case nil, bool, int, int64, uint64, float64, json.Number:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		return &jnode{lit: b, static: true}, nil
	default:
		// Any other shape (typed maps, slices, times): through encoding/json
		// into the generic form, keeping strings as templates.
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		var g any
		if err := json.Unmarshal(b, &g); err != nil {
			return nil, err
		}
		if _, again := g.(string); !again {
			return compileJSON(g, sy, depth)
		}
		n = &jnode{lit: b, static: true}
		return n, nil
	}
	if n.static {
		b, err := n.append(nil, nil)
		if err != nil {
			return nil, err
		}
		n.lit = b
	}
	return n, nil
}

// append writes the node as JSON.
func (n *jnode) append(dst []byte, sc *scope) ([]byte, error) {
	if n.lit != nil {
		return append(dst, n.lit...), nil
	}
	switch {
	case n.str != nil:
		s, err := n.str.render(sc)
		if err != nil {
			return nil, err
		}
		return appendJSONString(dst, s), nil
	case n.isObj:
		dst = append(dst, '{')
		for i := range n.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			k, err := n.keys[i].render(sc)
			if err != nil {
				return nil, err
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			if dst, err = n.vals[i].append(dst, sc); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	default:
		dst = append(dst, '[')
		var err error
		for i, v := range n.vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = v.append(dst, sc); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			dst = append(dst, '\\', byte(r))
		case r == '\n':
			dst = append(dst, '\\', 'n')
		case r == '\r':
			dst = append(dst, '\\', 'r')
		case r == '\t':
			dst = append(dst, '\\', 't')
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			dst = append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			dst = utf8.AppendRune(dst, r)
		}
	}
	return append(dst, '"')
}

// attempt sends the step's request once and checks the response.
//
// Each attempt has a tracer of its own, never pooled: a dial that outlives
// its cancelled request goes on calling the trace it was started with, and
// those late events must reach only that attempt's (finished) tracer, never a
// later run's.
func (h *httpStep) attempt(ctx context.Context, rs *runState, cs *compiledStep) attempt {
	var a attempt
	tr := &tracer{}
	req, err := rs.request(tr.with(ctx), h)
	if err != nil {
		a.fail, a.fatal = err.Error(), true
		return a
	}
	if cs.noRepeat {
		unreplayable(req.Header)
	}
	tr.reset(rs.c)
	tr.proxy = proxyOf(rs.client.Transport)
	tr.to(req)
	resp, err := rs.client.Do(req)
	if resp != nil {
		a.status = resp.StatusCode
		if resp.TLS != nil {
			rs.noteTLS(resp.TLS)
		}
	}
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		a.phases = tr.finish(resp != nil)
		a.fail = transportError(err)
		if req.Context().Err() != nil || a.fail == "timeout" {
			// Cut short by the step's deadline, or the transport's own
			// (its TLS handshake's 10 s): say where it hung.
			if a.waiting = tr.waitingFor(); a.waiting != "" && a.fail == "timeout" {
				a.fail += " " + a.waiting
			}
		}
		if cs.noRepeat && resp == nil && tr.unanswered() {
			a.fail += unansweredNote
		}
		return a
	}
	body, err := rs.readBody(resp)
	resp.Body.Close()
	a.phases = tr.finish(true)
	a.retryAfter = retryAfter(resp, body, rs.c.Now())
	page := rs.sessionPage(req.URL, resp)
	switch {
	case err != nil:
		a.fail = err.Error()
		if m := checkStatus(h.status, resp.StatusCode); m != "" {
			// The status is what failed first, and what the on-call, the
			// causes and the excerpt key on; what cut the body follows (a
			// size over the limit, past which nothing is read; a
			// connection dropped; a deadline, see statusFirst), and there
			// is no excerpt of a cut body. A 503 cut by a reset read
			// "read body: connection closed by server" alone.
			a.fail, a.statusFirst = m+" ("+a.fail+")", m
		}
		if req.Context().Err() != nil {
			if w := tr.waitingFor(); w != "" {
				a.waiting = w + " after " + byteSize(len(rs.buf))
			}
		}
	default:
		if a.fail = checkStatus(h.status, resp.StatusCode); a.fail == "" {
			a.fail = rs.checkPayload(&cs.pay, body, resp.Header, resp.Request.URL)
		} else {
			a.fail += rs.statusExcerpt(body, resp.Header, resp.StatusCode) // what the server said
		}
	}
	// Whatever failed, the answer's redirects are as they were: one to the
	// session's page refuses the session, and one that took a repeat: false
	// step's request keeps it from being sent again, whether or not the
	// body then came whole (a 303's receipt cut by a reset read as a 401
	// of the step's own, and the step was sent again after a new login).
	a.sentTo(page)
	if cs.noRepeat && a.fail != "" && (a.atLogin || refuses(resp.StatusCode)) {
		rs.markTaken(&a, resp)
	}
	return a
}

// sentTo marks a failed attempt whose answer sent it to the session's
// page (see sessionPage; "" none): a refusal of the session, which its
// error names.
func (a *attempt) sentTo(page string) {
	if page != "" && a.fail != "" {
		a.atLogin = true
		a.fail += " (sent to the session's page " + strconv.Quote(page) + ")"
	}
}

// markTaken marks a repeat: false step's failed attempt taken, and says so
// in its error, when a redirect took its request (see takenBy): what resp
// says refuses nothing, and the step is not sent again.
func (rs *runState) markTaken(a *attempt, resp *http.Response) {
	if code := rs.takenBy(resp); code != 0 {
		a.taken = true
		a.fail += fmt.Sprintf(" (after a %d that answered the step's own request: not a refusal of it, and a repeat: false step is not sent again)", code)
	}
}

// unansweredNote ends the transport error of a repeat: false step whose
// request went out whole and got no answer (see tracer.unanswered): neither
// Go's Transport nor the run sends it again, and the error must not read as
// if nothing happened.
const unansweredNote = " (after the request went out, before any answer: whether the target acted on it is unknown, and a repeat: false step is not sent again)"

// unreplayable keeps Go's Transport from sending a repeat: false step's
// request again by itself: it does, on a new connection, when a reused
// keep-alive connection closes after the request went out and before its
// answer (the target may have made the transfer: a crash, a proxy), for a
// request it deems idempotent, and an Idempotency-Key or X-Idempotency-Key
// entry in the header map makes a POST one. The entry moves to its
// lower-case spelling, which Go's check does not look up; header names are
// case-insensitive (HTTP/2 sends them lower-case anyway), so the target
// gets the same header.
func unreplayable(h http.Header) {
	for _, k := range [...]string{"Idempotency-Key", "X-Idempotency-Key"} {
		if v, ok := h[k]; ok {
			delete(h, k)
			h[strings.ToLower(k)] = v
		}
	}
}

// takenBy returns the status of the redirect that answered a step's own
// request and took it (a POST's 303 to its receipt: Post/Redirect/Get), when
// the client followed it to resp; 0 when resp, or a redirect to one of the
// session's pages, answered the request itself. A 307 or 308 sends the
// request on, method and body, so the answer after it is still the
// request's own; any other redirect ends it (Go follows it with a GET), and
// what the requests after it get (a 401 from a receipts service, a login
// page) says nothing of whether the request was refused: a repeat: false
// step sent again on that was a transfer made twice in one run.
func (rs *runState) takenBy(resp *http.Response) int {
	var chain []*http.Response // the redirects followed, last first
	for r := resp.Request; r != nil && r.Response != nil; r = r.Response.Request {
		chain = append(chain, r.Response)
	}
	for _, x := range slices.Backward(chain) {
		if x.StatusCode == http.StatusTemporaryRedirect || x.StatusCode == http.StatusPermanentRedirect {
			continue
		}
		if loc, err := x.Location(); err == nil && rs.sess != nil && slices.Contains(rs.sess.pages, pageKey(loc)) {
			return 0 // sent to log in: refused
		}
		return x.StatusCode
	}
	return 0
}

// sessionPage notes the URL a session step requests, and returns the path
// of the session's page that the answer to a flow step sent it to, by the
// redirects followed (any of them) or by a redirect not followed; "" when none. A web
// application sends a request whose session has ended to its login form
// (302 to /accounts/login/?next=...), not a 401: such an answer refuses the
// session as a 401 would. An sse step's request and a websocket step's
// handshake are asked too: a notifications stream behind the session is
// sent to the login form as a page is.
func (rs *runState) sessionPage(req *url.URL, resp *http.Response) string {
	cf := rs.cf
	if cf.nsession == 0 {
		return ""
	}
	if rs.cur < cf.nsession {
		if k := pageKey(req); !slices.Contains(rs.pages, k) {
			rs.pages = append(rs.pages, k)
		}
		return ""
	}
	if rs.sess == nil || len(rs.sess.pages) == 0 || rs.cur >= cf.nsession+cf.nmain {
		return ""
	}
	// The redirect not followed, then every request a redirect made, last
	// first: a login page may send on to an identity provider's.
	if resp.StatusCode/100 == 3 {
		if loc, err := resp.Location(); err == nil && slices.Contains(rs.sess.pages, pageKey(loc)) {
			return pagePath(loc)
		}
	}
	for r := resp.Request; r != nil && r.Response != nil; r = r.Response.Request {
		if slices.Contains(rs.sess.pages, pageKey(r.URL)) {
			return pagePath(r.URL)
		}
	}
	return ""
}

// backFromSessionPage reports whether the redirects that led to resp,
// having passed through one of the session's pages, ended back at a URL
// requested before the first of them (a login page, an SSO hop, that sent
// the request on to its next=): the answer is then the one asked for, not
// a page of the login (the session's own form, or an identity provider's
// that it sent the request on to).
func (rs *runState) backFromSessionPage(resp *http.Response) bool {
	if rs.sess == nil {
		return true
	}
	var keys []string // the URLs requested, last first
	for r := resp.Request; r != nil; r = r.Response.Request {
		keys = append(keys, pageKey(r.URL))
		if r.Response == nil {
			break
		}
	}
	if slices.Contains(rs.sess.pages, keys[0]) {
		return false // the session's page itself
	}
	for e := len(keys) - 1; e > 0; e-- { // the first session page of the redirects
		if slices.Contains(rs.sess.pages, keys[e]) {
			return slices.Contains(keys[e+1:], keys[0])
		}
	}
	return true
}

// pagePath is the path of a session's page, as its error names it.
func pagePath(u *url.URL) string {
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// pageKey is a URL's scheme, host, port and path ("/" when it has none), the
// query left out.
func pageKey(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/" // what is requested: https://app.example is its root
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port + path
}

// wireURL percent-encodes, in a rendered URL, the bytes that cannot go on
// the wire as they are, as a browser does with what is typed into its
// address bar: control characters anywhere before the fragment, and in the
// query also space, '"', '<', '>' and every non-ASCII byte (a variable put
// into "?q=${name}" as it is). Go encodes the path itself but sends the query
// raw: a space split the request line and the target answered 400. What is
// already encoded ("%20", "+") and the query's structure ('&', '=') are kept.
func wireURL(u string) string {
	end := strings.IndexByte(u, '#')
	if end < 0 {
		end = len(u)
	}
	q := strings.IndexByte(u[:end], '?')
	if q < 0 {
		q = end
	}
	escape := func(i int) bool {
		c := u[i]
		if c < 0x20 || c == 0x7f {
			return true
		}
		// The redactor knows this form of a secret (redact.QueryUnsafe).
		return i > q && redact.QueryUnsafe(c)
	}
	n := 0
	for i := 0; i < end; i++ {
		if escape(i) {
			n++
		}
	}
	if n == 0 {
		return u
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(u)+2*n)
	for i := 0; i < len(u); i++ {
		if i < end && escape(i) {
			b = append(b, '%', hex[u[i]>>4], hex[u[i]&15])
			continue
		}
		b = append(b, u[i])
	}
	return string(b)
}

// request builds the step's request in the run's scope.
func (rs *runState) request(ctx context.Context, cs *httpStep) (*http.Request, error) {
	u, err := cs.url.render(&rs.sc)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	u = wireURL(u)
	if err := rs.checkURL(u); err != nil {
		return nil, err
	}
	var body io.Reader
	var kind bodyKind
	if cs.body != nil {
		kind = cs.body.kind
	}
	switch kind {
	case bodyJSON:
		b, err := cs.body.json.append(nil, &rs.sc)
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		body = bytes.NewReader(b)
	case bodyForm:
		vals := make(url.Values, len(cs.body.form))
		for _, f := range cs.body.form {
			v, err := f.value.render(&rs.sc)
			if err != nil {
				return nil, fmt.Errorf("form %s: %w", f.key, err)
			}
			vals[f.key] = []string{v}
		}
		body = strings.NewReader(vals.Encode())
	case bodyRaw:
		s, err := cs.body.raw.render(&rs.sc)
		if err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
		body = strings.NewReader(s)
	}
	req, err := http.NewRequestWithContext(ctx, cs.method, u, body)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("bad url %q: %v", u, err)
	}
	if sch := req.URL.Scheme; sch != "http" && sch != "https" || req.URL.Host == "" {
		// A variable made it so (check refuses such a URL written out):
		// say what it became, not Go's `unsupported protocol scheme ""`.
		return nil, fmt.Errorf("url %s: want http:// or https:// and a host", show([]any{u}, rs))
	}
	req.Header = make(http.Header, len(cs.headers)+2)
	for i := range cs.headers {
		h := &cs.headers[i]
		v, err := h.render(rs)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.key, err)
		}
		req.Header[h.key] = []string{v}
	}
	if cs.host != nil {
		if req.Host, err = cs.host.render(&rs.sc); err != nil {
			return nil, fmt.Errorf("header Host: %w", err)
		}
	}
	if cs.body != nil && cs.body.contentType != "" && req.Header["Content-Type"] == nil {
		req.Header["Content-Type"] = []string{cs.body.contentType}
	}
	if req.Header["User-Agent"] == nil {
		req.Header["User-Agent"] = rs.r.userAgent
	}
	return req, nil
}

// checkRedirect stops after the flow's MaxRedirects (with 0 the redirect is
// the response the step checks), and keeps the run's
// secrets from where the redirect leads: Go copies every header of the
// first request but Authorization and Cookie to another host, and adds a
// Referer with the URL the redirect came from. A header that holds a secret
// (X-Api-Key: ${env:KEY}) goes no further than the first request's host (and
// its subdomains, as Go's rule for Authorization), once the redirects have
// left it; a Referer that holds one is not sent.
func (rs *runState) checkRedirect(req *http.Request, via []*http.Request) error {
	if rs.cf.maxRedirects == 0 {
		return http.ErrUseLastResponse // follows none: the redirect is the response
	}
	if len(via) > rs.cf.maxRedirects {
		return redirectError(rs.cf.maxRedirects)
	}
	if t, ok := req.Context().Value(tracerKey{}).(*tracer); ok {
		t.to(req)
		if req.Response != nil {
			t.redirected(req.Response.StatusCode)
		}
	}
	if ref := req.Header["Referer"]; len(ref) > 0 && rs.holdsSecret(ref[0]) {
		delete(req.Header, "Referer")
	}
	left := !sameSite(via[0].URL, req.URL)
	for _, r := range via[1:] {
		left = left || !sameSite(via[0].URL, r.URL)
	}
	if left {
		// A 307 or 308 sends the body on (Go's client reads it again): one
		// that holds a secret (a login's password, a stream's connection
		// token) cannot be sent without it, so the redirect is not taken.
		if req.GetBody != nil {
			if b, err := req.GetBody(); err == nil {
				body, err := io.ReadAll(b)
				b.Close()
				if err == nil && rs.holdsSecret(string(body)) {
					return secretBodyError(req.URL.Hostname())
				}
			}
		}
		for k, vs := range req.Header {
			if slices.ContainsFunc(vs, rs.holdsSecret) {
				delete(req.Header, k)
			}
		}
	}
	return nil
}

// holdsSecret reports whether v holds one of the run's secrets, in any form
// the redactor knows.
func (rs *runState) holdsSecret(v string) bool { return rs.redact(v) != v }

// sameSite reports whether to is from's host or a subdomain of it (ports
// aside).
func sameSite(from, to *url.URL) bool {
	f, t := strings.ToLower(from.Hostname()), strings.ToLower(to.Hostname())
	if f == t {
		return true
	}
	if strings.ContainsAny(t, ":%") || net.ParseIP(f) != nil {
		return false
	}
	return strings.HasSuffix(t, "."+f)
}

// secretBodyError is a redirect not taken: to another host (this one),
// with a body that holds a secret.
type secretBodyError string

func (e secretBodyError) Error() string {
	return "the body holds a secret: not sent on to another host (" + string(e) + ")"
}

type redirectError int

func (e redirectError) Error() string { return "stopped after " + strconv.Itoa(int(e)) + " redirects" }

// decoded is resp's body decoded as its Content-Encoding says, when Go's
// client left it encoded: a step that sends its own Accept-Encoding (copied
// from a browser or curl) gets gzip or deflate bytes, and its checks are on
// the document the target meant. Other encodings are read as they came.
func decoded(resp *http.Response) (io.Reader, error) {
	if resp.Uncompressed {
		return resp.Body, nil
	}
	var (
		r   io.Reader
		err error
	)
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		r, err = gzip.NewReader(resp.Body)
	case "deflate":
		r, err = zlib.NewReader(resp.Body)
	default:
		return resp.Body, nil
	}
	if err == io.EOF {
		return resp.Body, nil // no body at all (HEAD, 204)
	}
	return r, err
}

// readBody reads at most MaxBodyBytes+1 bytes (decoded) into the run's
// buffer.
func (rs *runState) readBody(resp *http.Response) ([]byte, error) {
	limit := rs.cf.maxBody
	buf := rs.buf[:0]
	if n := resp.ContentLength; n > 0 && n <= limit && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1)
	}
	src, err := decoded(resp)
	if err != nil {
		// None of the body came: the buffer says so, not what the step
		// before left in it (the count a cut body's error gives).
		rs.buf = buf
		// Dropped before the decoder's header came whole: said as a body
		// dropped later is (Go's own text held the local port, and a
		// reset's differed from a close's).
		return nil, fmt.Errorf("read body: %s", transportError(err))
	}
	rs.lr = io.LimitedReader{R: src, N: limit + 1}
	r := &rs.lr
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		var n int
		n, err = r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			break
		}
	}
	rs.buf = buf
	rs.lr.R = nil
	if int64(len(buf)) > limit {
		return nil, bodyTooLarge(limit)
	}
	if err != io.EOF {
		return nil, fmt.Errorf("read body: %s", transportError(err))
	}
	return buf, nil
}

// bodyTooLarge is readBody's error for a body over max_body_bytes (the
// limit).
type bodyTooLarge int64

func (b bodyTooLarge) Error() string {
	return "body larger than " + strconv.FormatInt(int64(b), 10) + " bytes"
}

// checkStatus: the status is listed, or 200-399 when none are.
func checkStatus(want []int, got int) string {
	if len(want) == 0 {
		if got >= 200 && got <= 399 {
			return ""
		}
		return "status " + strconv.Itoa(got) + ", want 200-399"
	}
	for _, w := range want {
		if w == got {
			return ""
		}
	}
	ws := make([]string, len(want))
	for i, w := range want {
		ws[i] = strconv.Itoa(w)
	}
	return "status " + strconv.Itoa(got) + ", want " + strings.Join(ws, " or ")
}

// transportError turns an error from the HTTP client into a short message
// without the URL (which may carry secrets or noise).
func transportError(err error) string {
	var re redirectError
	if errors.As(err, &re) {
		return re.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		switch {
		case dnsErr.IsNotFound:
			return "dns: no such host " + dnsErr.Name
		case dnsErr.IsTimeout:
			return "dns: timeout resolving " + dnsErr.Name
		}
		return "dns: " + dnsErr.Err + " for " + dnsErr.Name
	}
	var uaErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invErr x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused" + dialedAddr(err)
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable" + dialedAddr(err)
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable" + dialedAddr(err)
	case errors.As(err, &uaErr):
		return "tls: certificate signed by unknown authority"
	case errors.As(err, &hostErr):
		return "tls: " + hostErr.Error()
	case errors.As(err, &invErr):
		return "tls: " + invErr.Error()
	case errors.As(err, &recErr):
		return "tls: server did not answer with TLS"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		strings.HasSuffix(err.Error(), "http: server closed idle connection"):
		// The server's side (the server, or a proxy in front) dropped the
		// connection: closed it (EOF), reset it (an RST: SO_LINGER 0, a
		// process that died with unread data, a balancer's cut), or
		// closed it before the request was written whole (EPIPE). One
		// wording for all, as they mean one thing to a reader: behind a
		// proxy that drops connections, which one a run gets is chance,
		// and a window's cause flipped between "connection reset by peer"
		// and "connection closed by server" from run to run (13 causes
		// in 44 s). The last: net/http's own words (unexported) for a
		// kept-alive connection closed as the request went out.
		return "connection closed by server"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Op + ": " + oe.Err.Error()
	}
	return h2StreamIDs.ReplaceAllString(err.Error(), "")
}

// h2StreamIDs matches the stream number in HTTP/2's errors, which net/http
// does not export as types: a stream the server reset ("stream error: stream
// ID 7; INTERNAL_ERROR; received from peer") and a GOAWAY ("...; LastStreamID=7,
// ErrCode=NO_ERROR, ..."). The number grows with each request on the
// connection (1, 3, 5, ...), so a window's cause, keyed on the error's
// text, changed with every run; the code says what there is to say.
var h2StreamIDs = regexp.MustCompile(`(stream ID \d+; |LastStreamID=\d+, )`)

// dialedAddr is " (ADDR)", the address a failed dial went to as the
// dialer reports it (an IP and port: which one a DNS answer gave, which
// port a variable made), or " (proxy ADDR)" when the dial was to the
// transport's proxy; "" when the error names none. Never the URL, whose
// userinfo may hold credentials.
func dialedAddr(err error) string {
	proxy := ""
	var oe *net.OpError
	for e := err; errors.As(e, &oe); e = oe.Err {
		if oe.Op == "proxyconnect" {
			proxy = "proxy "
		}
		if oe.Addr != nil {
			return " (" + proxy + oe.Addr.String() + ")"
		}
		if oe.Err == nil {
			break
		}
	}
	return ""
}

// byteSize says n bytes as a reader takes them in: "0 bytes", "512 bytes",
// "600 kB", "1.2 MB" (decimal units, one decimal place where it says
// something).
func byteSize(n int) string {
	f, unit := float64(n), ""
	switch {
	case n < 1000:
		return strconv.Itoa(n) + " bytes"
	case n < 1000*1000:
		f, unit = f/1000, " kB"
	case n < 1000*1000*1000:
		f, unit = f/(1000*1000), " MB"
	default:
		f, unit = f/(1000*1000*1000), " GB"
	}
	return strings.TrimSuffix(strconv.FormatFloat(f, 'f', 1, 64), ".0") + unit
}

// proxyOf is rt's Proxy, nil when it has none (or is not an
// *http.Transport: the demo's in-process one).
func proxyOf(rt http.RoundTripper) func(*http.Request) (*url.URL, error) {
	if t, ok := rt.(*http.Transport); ok {
		return t.Proxy
	}
	return nil
}
