package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file decodes the stream step kinds: websocket and sse.

var (
	websocketKeys = []string{"url", "headers", "subprotocols", "send", "reply", "max_message_bytes", "max_messages", "max_buffered_bytes", "session_expired"}
	replyKeys     = []string{"to", "send"}
	expiredKeys   = []string{"close_codes", "jsonpath"}
	sseKeys       = []string{"url", "method", "headers", "body", "format", "event", "max_message_bytes", "max_messages", "max_buffered_bytes", "session_expired"}
)

// Formats of an sse step's response: a text/event-stream, or any body
// read as one message a line (newline-delimited JSON: Centrifugo's
// uni_http_stream).
const (
	FormatSSE   = "sse"
	FormatLines = "lines"
)

// Stream limits' defaults (max_message_bytes defaults to the flow's
// max_body_bytes).
const (
	DefaultMaxMessages      = 10000
	DefaultMaxBufferedBytes = 8 << 20
	maxStreamMessages       = 1_000_000
)

func (p *parser) stream(n *yaml.Node, key string, kind StepKind, f *Flow, defined map[string]bool) *Stream {
	s := &Stream{MaxMessageBytes: f.MaxBodyBytes, MaxMessages: DefaultMaxMessages, MaxBufferedBytes: DefaultMaxBufferedBytes}
	if kind == KindSSE {
		s.Method = "GET"
	}
	known := websocketKeys
	if kind == KindSSE {
		known = sseKeys
	}
	var urlNode, bufNode, eventNode *yaml.Node
	p.object(n, key, known, func(e entry, key string) {
		switch e.name {
		case "url":
			urlNode = e.v
			if v, ok := p.str(e.v, key); ok && p.template(e.v, key, v, defined) {
				if err := checkStreamURL(v, kind); err != nil {
					p.errf(e.v, key, "%v", err)
				} else if why := p.secretURL(v, streamSchemes(kind)...); why != "" {
					p.errf(e.v, key, "%s", why)
				} else {
					s.URL = v
				}
			}
		case "method":
			if m, ok := p.method(e.v, key); ok {
				s.Method = m
			}
		case "headers":
			s.Headers = p.headers(e.v, key, defined)
		case "subprotocols":
			for i, sn := range p.seq(e.v, key) {
				if v, ok := p.str(sn, index(key, i)); ok {
					if !isToken(v) {
						p.errf(sn, index(key, i), "invalid subprotocol %q (a token: no spaces, commas or separators)", v)
						continue
					}
					s.Subprotocols = append(s.Subprotocols, v)
				}
			}
		case "send":
			for i, sn := range p.seq(e.v, key) {
				if v, ok := p.str(sn, index(key, i)); ok && p.template(sn, index(key, i), v, defined) {
					s.Send = append(s.Send, v)
				}
			}
		case "reply":
			for i, rn := range p.seq(e.v, key) {
				ik := index(key, i)
				m, ok := p.item(rn, ik)
				if !ok {
					continue
				}
				var r Reply
				var to, send, bad bool
				p.object(m, ik, replyKeys, func(e entry, key string) {
					to, send = to || e.name == "to", send || e.name == "send"
					v, ok := p.str(e.v, key)
					switch {
					case !ok:
						bad = true
					case e.name == "to" && strings.TrimSpace(v) == "":
						p.errf(e.v, key, "is empty: say which message is answered")
						bad = true
					case e.name == "to":
						r.To = strings.TrimSpace(v)
					default:
						r.Send = v
					}
				})
				switch {
				case !to:
					p.errf(m, child(ik, "to"), "is required")
				case !send:
					p.errf(m, child(ik, "send"), "is required")
				case bad:
				case slices.ContainsFunc(s.Reply, func(o Reply) bool { return o.To == r.To }):
					p.errf(m, child(ik, "to"), "%q is answered twice", r.To)
				default:
					s.Reply = append(s.Reply, r)
				}
			}
		case "body":
			if v, ok := p.str(e.v, key); ok && p.template(e.v, key, v, defined) {
				s.Body = v
			}
		case "format":
			if v, ok := p.str(e.v, key); ok {
				switch v {
				case FormatSSE, FormatLines:
					s.Format = v
				default:
					p.errf(e.v, key, "unknown format %q (expected %s or %s)", v, FormatSSE, FormatLines)
				}
			}
		case "event":
			eventNode = e.v
			if v, ok := p.str(e.v, key); ok {
				if v == "" || strings.ContainsAny(v, "\r\n") {
					p.errf(e.v, key, "invalid event type %q", v)
				} else {
					s.Event = v
				}
			}
		case "max_message_bytes":
			if v, ok := p.size(e.v, key); ok {
				s.MaxMessageBytes = v
			}
		case "max_messages":
			if v, ok := p.int(e.v, key); ok {
				if v < 1 || v > maxStreamMessages {
					p.errf(e.v, key, "must be between 1 and %d", maxStreamMessages)
				} else {
					s.MaxMessages = int(v)
				}
			}
		case "max_buffered_bytes":
			bufNode = e.v
			if v, ok := p.size(e.v, key); ok {
				s.MaxBufferedBytes = v
			}
		case "session_expired":
			s.SessionExpired = p.sessionExpired(e.v, key, kind, defined)
			if se := s.SessionExpired; f.Session == nil && len(se.CloseCodes)+len(se.JSONPath) > 0 {
				// Only a reused session logs in again on it: here it only
				// labels the await's error. ({} takes the defaults' label
				// away, which a protocol whose 109 means something else
				// wants: no warning.)
				p.cfg.expiredNoSession = append(p.cfg.expiredNoSession, Warning{Line: e.k.Line, Key: key,
					Msg: `the flow has no session, so no new login follows what this says: its only effect is to label the await's error "session expired:" (at the await's timeout or the stream's end); add a session: that logs in, or remove it`})
			}
		}
	})
	if s.Format == FormatLines && eventNode != nil {
		p.errf(eventNode, key+".event", "a stream of format %s has no event types (one message a line)", FormatLines)
	}
	if urlNode == nil && p.resolve(n) != nil {
		p.errf(p.resolve(n), key+".url", "is required")
	}
	if s.MaxBufferedBytes < s.MaxMessageBytes {
		p.errf(orNode(bufNode, p.resolve(n)), key+".max_buffered_bytes", "max_buffered_bytes %d is below max_message_bytes %d: one message would not fit", s.MaxBufferedBytes, s.MaxMessageBytes)
	}
	return s
}

// streamSchemes are the URL schemes a stream of kind connects to.
func streamSchemes(kind StepKind) []string {
	if kind == KindWebSocket {
		return []string{"ws", "wss", "http", "https"}
	}
	return []string{"http", "https"}
}

// checkStreamURL checks a stream URL template's shape: ws(s):// or
// http(s):// for a WebSocket, http(s):// for SSE.
func checkStreamURL(tmpl string, kind StepKind) error {
	u, err := url.Parse(urlPlaceholder(tmpl))
	if err != nil {
		return fmt.Errorf("invalid URL %q", tmpl)
	}
	if strings.HasPrefix(tmpl, "${") {
		return encodedBase(tmpl, streamSchemes(kind)...) // scheme and host come from a variable
	}
	switch {
	case u.Host == "":
	case kind == KindWebSocket && (u.Scheme == "ws" || u.Scheme == "wss" || u.Scheme == "http" || u.Scheme == "https"):
		return nil
	case kind == KindSSE && (u.Scheme == "http" || u.Scheme == "https"):
		return nil
	}
	if kind == KindWebSocket {
		return fmt.Errorf("invalid URL %q: want ws://, wss:// (or http://, https://) and a host", tmpl)
	}
	return fmt.Errorf("invalid URL %q: want http:// or https:// and a host", tmpl)
}

// sessionExpired decodes a stream's session_expired: the WebSocket close
// codes (1000..4999) and the JSONPath matchers of a message that say the
// session's token is no longer valid.
func (p *parser) sessionExpired(n *yaml.Node, key string, kind StepKind, defined map[string]bool) *SessionExpired {
	se := &SessionExpired{}
	p.object(n, key, expiredKeys, func(e entry, key string) {
		switch e.name {
		case "close_codes":
			if kind != KindWebSocket {
				p.errf(e.v, key, "close codes are a WebSocket's: an sse stream has none")
				return
			}
			for i, cn := range p.seq(e.v, key) {
				if v, ok := p.int(cn, index(key, i)); ok {
					if v < 1000 || v > 4999 {
						p.errf(cn, index(key, i), "close code %d is outside 1000..4999", v)
						continue
					}
					se.CloseCodes = append(se.CloseCodes, int(v))
				}
			}
		case "jsonpath":
			se.JSONPath = p.pathMatches(e.v, key, defined)
		}
	})
	return se
}

// pathMatches decodes a jsonpath mapping (an expect's, a session_expired's):
// JSONPath -> matcher, in the order written, each path checked.
func (p *parser) pathMatches(n *yaml.Node, key string, defined map[string]bool) []PathMatch {
	var out []PathMatch
	for _, je := range p.entries(n, key) {
		jkey := child(key, je.name)
		if err := checkJSONPath(je.name); err != nil {
			p.errf(je.k, jkey, "%v", err)
			continue
		}
		if m, ok := p.matcher(je.v, jkey, defined); ok {
			out = append(out, PathMatch{Path: je.name, Matcher: m})
		}
	}
	return out
}
