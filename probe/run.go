package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ohler55/ojg/oj"
	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// Run executes flow once and returns its result: one StepResult per step, in
// order, the steps after a failed one not_run. It never panics. The run's
// clock is clock.FromContext(ctx, Options.Clock): the run's start, step
// durations, phase timings, poll waits and timeouts are all measured on it.
func (r *Runner) Run(ctx context.Context, flow *config.Flow) Run {
	c := clock.FromContext(ctx, r.clock)
	run := Run{ID: r.newID(), Location: r.cfg.Location, Start: c.Now()}
	if flow == nil {
		return run
	}
	run.Flow, run.Service = flow.Name, flow.Service
	run.Steps = make([]StepResult, len(flow.Steps))
	for i := range flow.Steps {
		s := &flow.Steps[i]
		run.Steps[i] = StepResult{Step: s.Name, Function: s.Function, Status: StatusNotRun}
	}
	if len(run.Steps) > 0 {
		rs := r.getState()
		rs.c, rs.start, rs.parent, rs.runID, rs.steps = c, run.Start, ctx, run.ID, run.Steps
		rs.exec(flow)
		r.putState(rs)
	}
	run.Duration = c.Now().Sub(run.Start)
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.DebugContext(ctx, "run done", "flow", run.Flow, "id", run.ID, "outcome", run.Outcome(), "duration", run.Duration)
	}
	return run
}

// runState is one run in progress.
type runState struct {
	r      *Runner
	cf     *compiledFlow
	c      clock.Clock
	start  time.Time
	parent context.Context // the caller's
	ctx    context.Context // with the flow's timeout
	runID  string
	steps  []StepResult // the run's results, filled in place
	cur    int          // the step being run

	sc     scope
	client http.Client
	jar    lazyJar
	tr     tracer
	extra  []string // resolved values of vars built from secrets
	buf    []byte
	lr     io.LimitedReader
	one    [1]any
	parser oj.Parser
}

// getState returns a runState from the runner's pool. Run states keep their
// buffers, JSON parser and trace hooks between runs.
func (r *Runner) getState() *runState {
	if rs, ok := r.states.Get().(*runState); ok {
		return rs
	}
	rs := &runState{r: r}
	rs.client.Jar = &rs.jar
	rs.client.CheckRedirect = rs.checkRedirect
	rs.parser.Reuse = true // parsed documents never outlive an attempt
	return rs
}

// putState clears what belongs to one run and pools rs.
func (r *Runner) putState(rs *runState) {
	rs.cf, rs.c, rs.parent, rs.ctx, rs.steps, rs.cur = nil, nil, nil, nil, nil, 0
	rs.sc = scope{vals: rs.sc.vals[:0]}
	rs.client.Transport = nil
	rs.jar.j = nil
	rs.one[0] = nil
	clear(rs.extra)
	rs.extra = rs.extra[:0]
	if cap(rs.buf) > maxPooledBuf {
		rs.buf = nil
	}
	r.states.Put(rs)
}

// lazyJar is a run's cookie jar, created when the first cookie arrives, so
// runs that never see a cookie pay nothing for it.
type lazyJar struct{ j *cookiejar.Jar }

func (l *lazyJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if l.j == nil {
		l.j, _ = cookiejar.New(nil) // never fails without options
	}
	l.j.SetCookies(u, cookies)
}

func (l *lazyJar) Cookies(u *url.URL) []*http.Cookie {
	if l.j == nil {
		return nil
	}
	return l.j.Cookies(u)
}

// exec runs the steps; a panic fails the current step instead of escaping.
func (rs *runState) exec(flow *config.Flow) {
	defer func() {
		if p := recover(); p != nil {
			rs.r.log.Error("probe: panic in run", "flow", flow.Name, "panic", rs.redact(fmt.Sprint(p)))
			rs.fail(rs.cur, fmt.Sprintf("internal error: %v", p))
		}
	}()
	cf := rs.r.compiled(flow)
	rs.cf = cf
	if cf.err != nil {
		rs.fail(0, cf.err.Error())
		return
	}
	rt, err := rs.r.transport(cf.tls)
	if err != nil {
		rs.fail(0, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(rs.parent, cf.timeout)
	defer cancel()
	rs.ctx = ctx
	rs.client.Transport = rt
	vals := rs.sc.vals[:0]
	if cap(vals) < cf.nslots {
		vals = make([]string, 0, cf.nslots)
	}
	rs.sc = scope{
		vals:     vals[:cf.nslots],
		runID:    rs.runID,
		location: rs.r.cfg.Location,
		clock:    rs.c,
		secrets:  rs.r.cfg.Secrets,
	}
	for i := range cf.vars {
		v := &cf.vars[i]
		val, err := v.value.render(&rs.sc)
		if err != nil {
			rs.fail(0, fmt.Sprintf("var %s: %v", v.name, err))
			return
		}
		rs.sc.vals[v.slot] = val
		if v.tainted {
			rs.extra = append(rs.extra, val)
		}
	}
	for i := range cf.steps {
		rs.cur = i
		rs.step(i)
		if rs.steps[i].Status == StatusFailed {
			return
		}
	}
}

// fail marks step i failed with msg (prefixed with the step name, secrets
// removed) and the steps after it not run.
func (rs *runState) fail(i int, msg string) {
	steps := rs.steps
	if i < 0 || i >= len(steps) {
		return
	}
	steps[i].Status = StatusFailed
	steps[i].Error = rs.redact(steps[i].Step + ": " + msg)
	for j := i + 1; j < len(steps); j++ {
		steps[j].Status = StatusNotRun
		steps[j].Error = "not run: step " + steps[i].Step + " failed"
	}
}

func (rs *runState) redact(s string) string { return rs.r.redact(s, rs.extra) }

// attempt is the outcome of one request of a step.
type attempt struct {
	status int
	phases Phases
	fail   string // "" when every expectation held
	fatal  bool   // retrying cannot help (the request could not be built)
}

// step runs step i, polling when asked, and fills its result.
func (rs *runState) step(i int) {
	cs := &rs.cf.steps[i]
	res := &rs.steps[i]
	c := rs.c
	start := c.Now()
	ctx := rs.ctx
	if cs.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cs.timeout)
		defer cancel()
	}
	var deadline time.Time
	if cs.poll != nil {
		deadline = start.Add(cs.poll.Within)
	}
	msg := ""
	for {
		res.Attempts++
		a := rs.attempt(ctx, cs)
		res.HTTPStatus, res.Phases = a.status, a.phases
		now := c.Now()
		if m := rs.timedOut(ctx, cs, start, now); m != "" {
			msg = m
			break
		}
		if a.fail == "" {
			break
		}
		if a.fatal || cs.poll == nil {
			msg = a.fail
			break
		}
		if now.Add(cs.poll.Every).After(deadline) {
			msg = "expectation not met within " + cs.poll.Within.String() + ": " + a.fail
			break
		}
		if err := c.Sleep(ctx, cs.poll.Every); err != nil {
			if msg = rs.timedOut(ctx, cs, start, c.Now()); msg == "" {
				msg = "canceled"
			}
			break
		}
	}
	res.Duration = c.Now().Sub(start)
	switch {
	case msg != "":
		rs.fail(i, msg)
	case cs.latency > 0 && res.Duration > cs.latency:
		res.Status = StatusDegraded
		res.Error = rs.redact(fmt.Sprintf("%s: latency %s over objective %s", cs.name, roundDuration(res.Duration), cs.latency))
	default:
		res.Status, res.Error = StatusOK, ""
	}
	if rs.r.log.Enabled(rs.parent, slog.LevelDebug) {
		rs.r.log.DebugContext(rs.parent, "step done", "flow", rs.cf.flow.Name, "step", cs.name,
			"status", res.Status, "http_status", res.HTTPStatus, "duration", res.Duration,
			"attempts", res.Attempts, "error", res.Error)
	}
}

// timedOut says whether the run or the step is out of time, on the context
// (real deadlines) or on the run's clock (virtual time), or was canceled.
func (rs *runState) timedOut(ctx context.Context, cs *compiledStep, start, now time.Time) string {
	switch {
	case rs.parent.Err() != nil:
		return "canceled: " + rs.parent.Err().Error()
	case rs.ctx.Err() != nil || now.Sub(rs.start) > rs.cf.timeout:
		return "flow timeout after " + rs.cf.timeout.String()
	case ctx.Err() != nil || cs.timeout > 0 && now.Sub(start) > cs.timeout:
		return "timeout after " + cs.timeout.String()
	}
	return ""
}

// attempt sends the step's request once and checks the response.
func (rs *runState) attempt(ctx context.Context, cs *compiledStep) attempt {
	var a attempt
	req, err := rs.request(httptrace.WithClientTrace(ctx, rs.tr.trace()), cs)
	if err != nil {
		a.fail, a.fatal = err.Error(), true
		return a
	}
	rs.tr.reset(rs.c)
	resp, err := rs.client.Do(req)
	if resp != nil {
		a.status = resp.StatusCode
	}
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		a.phases = rs.tr.finish(resp != nil)
		a.fail = transportError(err)
		return a
	}
	body, err := rs.readBody(resp)
	resp.Body.Close()
	a.phases = rs.tr.finish(true)
	if err != nil {
		a.fail = err.Error()
		return a
	}
	a.fail = rs.check(cs, resp, body)
	return a
}

// request builds the step's request in the run's scope.
func (rs *runState) request(ctx context.Context, cs *compiledStep) (*http.Request, error) {
	u, err := cs.url.render(&rs.sc)
	if err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	var body io.Reader
	switch cs.body.kind {
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
	req.Header = make(http.Header, len(cs.headers)+2)
	for i := range cs.headers {
		h := &cs.headers[i]
		v, err := h.value.render(&rs.sc)
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
	if cs.body.contentType != "" && req.Header["Content-Type"] == nil {
		req.Header["Content-Type"] = []string{cs.body.contentType}
	}
	if req.Header["User-Agent"] == nil {
		req.Header["User-Agent"] = rs.r.userAgent
	}
	return req, nil
}

// checkRedirect stops after the flow's MaxRedirects.
func (rs *runState) checkRedirect(_ *http.Request, via []*http.Request) error {
	if len(via) > rs.cf.maxRedirects {
		return redirectError(rs.cf.maxRedirects)
	}
	return nil
}

type redirectError int

func (e redirectError) Error() string { return "stopped after " + strconv.Itoa(int(e)) + " redirects" }

// readBody reads at most MaxBodyBytes+1 bytes into the run's buffer.
func (rs *runState) readBody(resp *http.Response) ([]byte, error) {
	limit := rs.cf.maxBody
	buf := rs.buf[:0]
	if n := resp.ContentLength; n > 0 && n <= limit && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1)
	}
	rs.lr = io.LimitedReader{R: resp.Body, N: limit + 1}
	r := &rs.lr
	var err error
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
		return nil, fmt.Errorf("body larger than %d bytes", limit)
	}
	if err != io.EOF {
		return nil, fmt.Errorf("read body: %s", transportError(err))
	}
	return buf, nil
}

// check applies the step's expectations to a response, then its
// extractions. It returns "" when all hold.
func (rs *runState) check(cs *compiledStep, resp *http.Response, body []byte) string {
	if m := checkStatus(cs.status, resp.StatusCode); m != "" {
		return m
	}
	var data any
	if cs.needJSON {
		if len(bytes.TrimSpace(body)) == 0 {
			return "body is empty, want JSON"
		}
		if cs.fastJSON {
			if !validJSON(body) {
				return "body is not JSON"
			}
		} else {
			var err error
			if data, err = rs.parser.Parse(body); err != nil {
				return "body is not JSON"
			}
		}
	}
	for i := range cs.paths {
		pc := &cs.paths[i]
		op, err := pc.m.operand.render(&rs.sc)
		if err != nil {
			return pc.src + ": " + err.Error()
		}
		kind := subjMulti
		if pc.singular {
			kind = subjSingular
		}
		var vals []any
		if cs.fastJSON {
			if vals, err = rs.lookup(body, pc.segs); err != nil {
				return "body is not JSON"
			}
		} else {
			vals = pc.expr.Get(data)
		}
		if m := evalMatch(&pc.m, op, pc.src, vals, kind); m != "" {
			return m
		}
	}
	if cs.bodyM != nil {
		op, err := cs.bodyM.operand.render(&rs.sc)
		if err != nil {
			return "body: " + err.Error()
		}
		var vals []any
		if len(body) > 0 {
			vals = []any{string(body)}
		}
		if m := evalMatch(cs.bodyM, op, "body", vals, subjText); m != "" {
			return m
		}
	}
	for i := range cs.headerMs {
		hc := &cs.headerMs[i]
		op, err := hc.m.operand.render(&rs.sc)
		if err != nil {
			return "header " + hc.name + ": " + err.Error()
		}
		hv := resp.Header[hc.name]
		vals := make([]any, len(hv))
		for j, v := range hv {
			vals[j] = v
		}
		if m := evalMatch(&hc.m, op, "header "+hc.name, vals, subjText); m != "" {
			return m
		}
	}
	for i := range cs.extract {
		x := &cs.extract[i]
		if x.kind == extractJSON && cs.fastJSON {
			vals, err := rs.lookup(body, x.segs)
			if err != nil {
				return "body is not JSON"
			}
			if len(vals) == 0 {
				return "extract " + x.name + ": " + x.src + " selected nothing"
			}
			rs.sc.vals[x.slot] = valueText(vals[0])
			continue
		}
		v, m := extract(x, data, body, resp.Header)
		if m != "" {
			return m
		}
		rs.sc.vals[x.slot] = v
	}
	return ""
}

// lookup finds a singular path's value with the scanner; the slice it
// returns is only valid until the next lookup.
func (rs *runState) lookup(body []byte, segs []pathSeg) ([]any, error) {
	raw, ok := lookupRaw(body, segs)
	if !ok {
		return nil, nil
	}
	v, err := decodeRaw(raw, &rs.parser)
	if err != nil {
		return nil, err
	}
	rs.one[0] = v
	return rs.one[:1], nil
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

// extract reads one variable from a response.
func extract(x *extractor, data any, body []byte, h http.Header) (string, string) {
	switch x.kind {
	case extractJSON:
		v, ok := x.expr.FirstFound(data)
		if !ok {
			return "", "extract " + x.name + ": " + x.src + " selected nothing"
		}
		return valueText(v), ""
	case extractRegex:
		m := x.re.FindSubmatch(body)
		if m == nil {
			return "", "extract " + x.name + ": no match for " + strconv.Quote(x.src)
		}
		if len(m) > 1 {
			return string(m[1]), ""
		}
		return string(m[0]), ""
	case extractHeader:
		v := h[x.header]
		if len(v) == 0 {
			return "", "extract " + x.name + ": no header " + x.header
		}
		return v[0], ""
	}
	return "", "extract " + x.name + ": no source"
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
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &uaErr):
		return "tls: certificate signed by unknown authority"
	case errors.As(err, &hostErr):
		return "tls: " + hostErr.Error()
	case errors.As(err, &invErr):
		return "tls: " + invErr.Error()
	case errors.As(err, &recErr):
		return "tls: server did not answer with TLS"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
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
	return err.Error()
}

// roundDuration keeps messages short: milliseconds, or microseconds under 1ms.
func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}
