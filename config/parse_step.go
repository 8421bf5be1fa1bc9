package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes one step and the keys every step kind shares; each
// kind's own block is decoded in parse_request.go, parse_stream.go and
// parse_await.go.

var (
	stepKeys = []string{"name", "function", "timeout", "request", "websocket", "sse", "await", "poll", "expect", "extract", "counts", "when", "repeat"}
	kindKeys = []string{"request", "websocket", "sse", "await"}
)

// Sections of a flow that hold steps.
const (
	sectionSession  = "session"
	sectionSteps    = "steps"
	sectionTeardown = "teardown"
)

// stepScope is what a step may refer to: the variables defined so far, the
// flow's step names (unique across session, steps and teardown), and the
// earlier steps of its own list (for await's stream and since).
type stepScope struct {
	defined map[string]bool
	// session is what a session_end teardown step sees: the vars and the
	// session's extracts (nil without a session).
	session map[string]bool
	names   map[string]int  // step name -> line
	earlier map[string]bool // steps before this one in its list
	streams map[string]bool // stream steps before this one in the flow's steps
	section string
	prev    string // the step just before this one in its list
}

// step decodes one step; sc.defined gains the step's extracts.
func (p *parser) step(n *yaml.Node, key string, f *Flow, sc *stepScope) (Step, bool) {
	rn, ok := p.item(n, key)
	if !ok {
		return Step{}, false
	}
	st := Step{Line: rn.Line}
	var nameNode, fnNode, pollNode, expectNode, extractNode, countsNode, whenNode, repeatNode *yaml.Node
	kinds := map[string]entry{}
	var kindOrder []string
	p.object(rn, key, stepKeys, func(e entry, key string) {
		switch e.name {
		case "name":
			nameNode = e.v
			st.Name, _ = p.name(e.v, key)
		case "function":
			fnNode = e.v
			st.Function, _ = p.name(e.v, key)
		case "timeout":
			if v, ok := p.atLeast(e.v, key, MinTimeout); ok {
				st.Timeout = v
				if v > f.Timeout {
					p.errf(e.v, key, "step timeout %v is longer than the flow's timeout %v", v, f.Timeout)
				}
			}
		case "request", "websocket", "sse", "await":
			kinds[e.name] = e
			kindOrder = append(kindOrder, e.name)
		case "poll":
			pollNode = e.v
		case "expect":
			expectNode = e.v
		case "extract":
			extractNode = e.v
		case "counts":
			countsNode = e.v
			st.Counts, _ = p.bool(e.v, key)
		case "repeat":
			repeatNode = e.v
			if v, ok := p.bool(e.v, key); ok {
				st.NoRepeat = !v
			}
		case "when":
			whenNode = e.v
			if v, ok := p.enum(e.v, key, "when", WhenAlways, WhenSessionEnd); ok {
				st.When = v
			}
		}
	})
	if nameNode == nil {
		p.errf(rn, key+".name", "is required")
	} else if st.Name != "" {
		if line, dup := sc.names[st.Name]; dup {
			p.errf(nameNode, key+".name", "duplicate step name %q in flow (first used on line %d)", st.Name, line)
		} else {
			sc.names[st.Name] = nameNode.Line
		}
	}
	if fnNode == nil {
		p.errf(rn, key+".function", "is required: name the user-visible function this step serves (login, send, receive, ...)")
	}
	if countsNode != nil && sc.section != sectionTeardown {
		p.errf(countsNode, key+".counts", "only a teardown step can set counts (every other step counts)")
	}
	if whenNode != nil {
		switch {
		case sc.section != sectionTeardown:
			p.errf(whenNode, key+".when", "only a teardown step has a when")
		case st.When == WhenSessionEnd && f.Session == nil:
			p.errf(whenNode, key+".when", "session_end needs a session: block in the flow")
		case st.When == WhenSessionEnd && st.Counts:
			p.errf(whenNode, key+".when", "a session_end step is reported apart; it cannot also set counts")
		}
	}
	if st.When == WhenAlways {
		st.When = ""
	}
	// A session_end step runs with the session's variables only: one that
	// used a flow step's extract was never run ("has no value in this
	// session"), which check now says.
	defined := sc.defined
	if st.When == WhenSessionEnd && sc.session != nil {
		defined, p.flowOnly = sc.session, sc.defined
		defer func() { p.flowOnly = nil }()
	}

	kind := KindRequest
	switch len(kindOrder) {
	case 0:
		p.errf(rn, key+".request", "is required (a step holds one of %s)", strings.Join(kindKeys, ", "))
	case 1:
		kind = StepKind(kindOrder[0])
	default:
		e := kinds[kindOrder[1]]
		p.errf(e.k, child(key, e.name), "a step holds exactly one of %s; this one also has %s", strings.Join(kindKeys, ", "), kindOrder[0])
		kind = StepKind(kindOrder[0])
	}
	if e, ok := kinds[string(kind)]; ok {
		ekey := child(key, e.name)
		switch kind {
		case KindRequest:
			st.Request = p.request(e.v, ekey, defined)
		case KindWebSocket, KindSSE:
			s := p.stream(e.v, ekey, kind, f, defined)
			if kind == KindWebSocket {
				st.WebSocket = s
			} else {
				st.SSE = s
			}
			switch sc.section {
			case sectionSteps:
				if st.Name == "webhook" {
					p.errf(nameNode, key+".name", `"webhook" is reserved (await: webhook); name the stream step differently`)
				}
			default:
				p.errf(e.k, ekey, "streams are opened in a flow's steps, not in its %s", sc.section)
			}
		case KindAwait:
			st.Await = p.await(e.v, ekey, sc)
		}
	}
	if st.NoRepeat {
		// Only a flow's steps are tried again after a new login (see
		// docs/config.md, Sessions); repeat: true is the default anywhere.
		switch {
		case sc.section != sectionSteps:
			p.errf(repeatNode, key+".repeat", "only a flow's steps are tried again after a new login: a session step runs at every login, a teardown step once a run")
		case kind == KindAwait:
			p.errf(repeatNode, key+".repeat", "an await sends nothing: set repeat: false on the step that sends")
		case pollNode != nil:
			p.errf(repeatNode, key+".repeat", "a poll sends its request again by design: a step that must not be sent twice does not poll")
		default:
			// Go's HTTP client sends these again by itself when a reused
			// connection closes before the answer, whatever the headers:
			// repeat: false cannot keep its promise for them. Not a
			// WebSocket's: its handshake is a GET that Go may send again
			// too, but only when no answer came, so no WebSocket opened
			// and none of the step's messages (what acts) went out; they
			// go once, on the one connection that opened, and a handshake
			// cannot be sent with another method.
			method := ""
			switch {
			case kind == KindRequest:
				method = st.Request.Method
			case st.SSE != nil:
				method = st.SSE.Method
			}
			if m := strings.ToUpper(method); m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" {
				p.cfg.noRepeatResent = append(p.cfg.noRepeatResent, Warning{Line: repeatNode.Line, Key: key + ".repeat",
					Msg: fmt.Sprintf("a %s is sent again by Go's HTTP client itself when a reused connection closes before the answer, whatever its headers, so this step can still reach the target twice: a request that acts should use another method (POST, PUT, PATCH, DELETE)", m)})
			}
		}
	}
	var since *yaml.Node
	if pollNode != nil {
		if kind != KindRequest {
			p.errf(pollNode, key+".poll", "only a request step polls (an await waits by itself, up to its timeout)")
		} else {
			st.Poll, since = p.poll(pollNode, key+".poll", f, st.Timeout)
			p.pollSince(st.Poll, since, key+".poll", st.Name, sc)
		}
	}
	if expectNode != nil {
		st.Expect = p.expect(expectNode, key+".expect", defined, &st)
	}
	if st.Poll != nil && since == nil && st.Poll.Since != st.Name && st.Expect.Latency > 0 {
		// A config written before poll.since: its latency objective was
		// the poll's own time and is now the send's too.
		p.cfg.pollLatency = append(p.cfg.pollLatency, Warning{Line: pollNode.Line, Key: key + ".poll.since",
			Msg: fmt.Sprintf("not set, so expect.latency %v is checked against the time from the start of %q (the step just before) to the answer that showed the message, not the poll's own time as before poll.since: write since: %s to keep that, or since: %s to say so", st.Expect.Latency, st.Poll.Since, st.Name, st.Poll.Since)})
	}
	// Extracts become usable from the next step on.
	for _, e := range p.entries(extractNode, key+".extract") {
		if ex, ok := p.extract(e, child(key+".extract", e.name), &st); ok {
			st.Extract = append(st.Extract, ex)
		}
	}
	for _, ex := range st.Extract {
		defined[ex.Var] = true
	}
	return st, true
}

// steps decodes a list of steps of one section of flow f.
func (p *parser) steps(n *yaml.Node, key string, f *Flow, sc *stepScope, section string) []Step {
	sc.section, sc.prev, sc.earlier = section, "", map[string]bool{}
	var out []Step
	for i, sn := range p.seq(n, key) {
		st, ok := p.step(sn, index(key, i), f, sc)
		if !ok {
			continue
		}
		out = append(out, st)
		if st.Name != "" {
			sc.earlier[st.Name] = true
			sc.prev = st.Name
			if section == sectionSteps && (st.WebSocket != nil || st.SSE != nil) {
				sc.streams[st.Name] = true
			}
		}
	}
	return out
}
