package probe

import (
	"bytes"
	"encoding/json"
	"html"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// What a step failed on its status says of the answer's body: the server's
// own words, so that the on-call reads them in the window's cause, the
// alert and the report, not in the server's logs ("login: status 403, want
// 200: M_FORBIDDEN \"Invalid username or password\""). docs/config.md
// (Step errors) says the rule.

// maxExcerpt bounds the quoted text of an excerpt, its escapes counted
// (a cut one ends "..." inside the quotes).
const maxExcerpt = 120

// maxCode bounds an error code that stands unquoted (M_LIMIT_EXCEEDED,
// invalid_grant, PERMISSION_DENIED).
const maxCode = 48

// excerptWindow bounds what of a body an excerpt reads: its first 256 KiB
// (an HTML page's title, a text body's first line); a longer JSON body is
// not parsed. max_body_bytes may be up to 1 GiB, and parsing that much
// after the read is not bounded by the step's deadline.
const excerptWindow = 256 << 10

// statusExcerpt is what a step whose status failed adds to its error from
// the body it read (resp's, already bounded by max_body_bytes): ": CODE
// \"message\"", ": CODE", ": \"message\"", or "" when the body says nothing
// readable (empty, binary, a JSON document without an error field, an HTML
// page without a title, a redirect's). The code, an error code of the JSON
// body's, stands unquoted so that a window whose code changes
// (M_FORBIDDEN, then M_LIMIT_EXCEEDED) gets a new cause, where the quoted
// message is volatile (state's errorShape). The message is the run's
// secrets redacted before it is cut, its white space collapsed, quoted as
// Go quotes (no control character, line break or bidi override can act).
// Called only on a failed status: a passing step pays nothing.
func (rs *runState) statusExcerpt(body []byte, h http.Header, status int) string {
	whole := len(body) <= excerptWindow
	if !whole {
		body = body[:excerptWindow]
	}
	return rs.excerptOf(body, whole, h, status)
}

// excerptOf is statusExcerpt of body, the start of the answer's body
// (whole: all of it), within excerptWindow: a stream handshake's refusal
// is read for it to its first 1 KiB only, and a longer JSON document is not
// parsed (nor quoted as text) there either.
func (rs *runState) excerptOf(body []byte, whole bool, h http.Header, status int) string {
	if len(body) == 0 || status/100 == 3 {
		// A redirect's body is a browser's fallback (Go's own:
		// <a href="/login">Found</a>.), not the server's account.
		return ""
	}
	ct := h.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	trim := bytes.TrimSpace(body)
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if !isJSON && (mt == "" || mt == "text/plain") && len(trim) > 0 && trim[0] == '{' {
		isJSON = true // JSON sent as text, or untyped
	}
	if isJSON {
		if !whole {
			return "" // a JSON document is read whole or not at all
		}
		if code, msg, ok := jsonReason(trim); ok {
			return rs.excerptText(code, msg)
		}
		// Not a JSON object of known fields: a JSON string is its
		// text; any other document says nothing (its fields may be
		// data, a token not yet known as a secret), and JSON that does
		// not parse is read as text.
		var s string
		if json.Unmarshal(trim, &s) == nil {
			return rs.excerptText("", s)
		}
		if json.Valid(trim) {
			return ""
		}
	}
	switch {
	case mt == "text/html" || mt == "application/xhtml+xml" || (mt == "" && len(trim) > 0 && trim[0] == '<'):
		return rs.excerptText("", htmlTitle(decodeCharset(body, params["charset"])))
	case mt == "" || strings.HasPrefix(mt, "text/") || isJSON:
		return rs.excerptText("", firstLine(decodeCharset(body, params["charset"])))
	}
	return "" // binary: an image, a file
}

// decodeCharset is body as UTF-8 when its Content-Type names another
// charset Go's x/text knows (windows-1251, iso-8859-1, shift_jis); as it is
// otherwise (its bytes that are not UTF-8 are quoted as \x escapes).
func decodeCharset(body []byte, charset string) string {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs == "" || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" {
		return string(body)
	}
	enc, err := htmlindex.Get(cs)
	if err != nil {
		return string(body)
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return string(body)
	}
	return string(out)
}

// jsonReason reads the error fields of a JSON object: the code (Matrix's
// errcode; an OAuth error, a code or error.code or error.status that is a
// word, when there is no errcode) and the message, the first two of title,
// detail (RFC 9457), error (when not the code), error_description,
// message, and error.message, error.title, error.detail (Centrifugo's and
// Google's {"error": {...}}, JSON:API's errors[0]) that are non-empty
// strings, joined with ": ". ok is false when body is not a JSON object or
// has none of them.
func jsonReason(body []byte) (code, msg string, ok bool) {
	type fields struct {
		Errcode          json.RawMessage `json:"errcode"`
		Error            json.RawMessage `json:"error"`
		ErrorDescription json.RawMessage `json:"error_description"`
		Title            json.RawMessage `json:"title"`
		Detail           json.RawMessage `json:"detail"`
		Message          json.RawMessage `json:"message"`
		Code             json.RawMessage `json:"code"`
		Status           json.RawMessage `json:"status"`
		Errors           json.RawMessage `json:"errors"`
	}
	if len(body) == 0 || body[0] != '{' {
		return "", "", false
	}
	var o fields
	if json.Unmarshal(body, &o) != nil {
		return "", "", false
	}
	var e fields // the nested error object, if any
	if len(o.Error) > 0 && o.Error[0] == '{' {
		_ = json.Unmarshal(o.Error, &e)
	} else if len(o.Errors) > 0 && o.Errors[0] == '[' {
		var list []json.RawMessage
		if json.Unmarshal(o.Errors, &list) == nil && len(list) > 0 && len(list[0]) > 0 && list[0][0] == '{' {
			_ = json.Unmarshal(list[0], &e)
		}
	}
	errText := jsonString(o.Error)
	switch {
	case isCode(jsonString(o.Errcode)):
		code = jsonString(o.Errcode)
	case isCode(errText):
		code, errText = errText, ""
	case isCode(jsonString(o.Code)):
		code = jsonString(o.Code)
	case isCode(jsonString(e.Code)):
		code = jsonString(e.Code)
	case isCode(jsonString(e.Status)):
		code = jsonString(e.Status)
	}
	var parts []string
	for _, s := range []string{jsonString(o.Title), jsonString(o.Detail), errText, jsonString(o.ErrorDescription),
		jsonString(o.Message), jsonString(e.Message), jsonString(e.Title), jsonString(e.Detail)} {
		if len(parts) == 2 {
			break
		}
		if strings.TrimSpace(s) != "" && (len(parts) == 0 || parts[0] != s) {
			parts = append(parts, s)
		}
	}
	msg = strings.Join(parts, ": ")
	return code, msg, code != "" || msg != ""
}

// jsonString is raw's value when it is a JSON string, "" otherwise.
func jsonString(raw json.RawMessage) string {
	if len(raw) == 0 || raw[0] != '"' {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// isCode reports whether s is an error code that can stand unquoted in an
// error: a word of ASCII letters, digits, '_', '.', ':' and '-' that starts
// with a letter, at most maxCode bytes (M_FORBIDDEN, invalid_grant,
// PERMISSION_DENIED); nothing a reader takes for the error's own words.
func isCode(s string) bool {
	if s == "" || len(s) > maxCode || !('A' <= s[0] && s[0] <= 'Z' || 'a' <= s[0] && s[0] <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// htmlTitle is the text of an HTML page's <title>, entities decoded; ""
// without one.
func htmlTitle(page string) string {
	lower := lowerASCII(page) // the tags' case; as long as page, byte for byte
	i := strings.Index(lower, "<title")
	for i >= 0 && i+6 < len(lower) && lower[i+6] != '>' && !unicode.IsSpace(rune(lower[i+6])) {
		j := strings.Index(lower[i+6:], "<title")
		if j < 0 {
			return ""
		}
		i += 6 + j
	}
	if i < 0 {
		return ""
	}
	start := strings.IndexByte(lower[i:], '>')
	if start < 0 {
		return ""
	}
	start += i + 1
	end := strings.Index(lower[start:], "</title")
	if end < 0 {
		return ""
	}
	return html.UnescapeString(page[start : start+end])
}

// lowerASCII is s with its ASCII letters in lower case, byte for byte.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// firstLine is the first line of s that holds more than white space.
func firstLine(s string) string {
	for s != "" {
		line := s
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if strings.TrimSpace(line) != "" {
			return line
		}
	}
	return ""
}

// excerptText renders an excerpt: ": CODE \"msg\"", either part left out
// when empty. msg has the run's secrets redacted before it is cut (scrubbed
// as far as the cut and the longest secret, more when redaction shortened
// it, as withGot does), its white space collapsed to single spaces, then
// quoted within maxExcerpt bytes.
func (rs *runState) excerptText(code, msg string) string {
	var b strings.Builder
	if code != "" {
		b.WriteString(": ")
		b.WriteString(code)
	}
	if msg = strings.TrimSpace(msg); msg != "" {
		slack := rs.slack()
		var s string
		for limit := maxExcerpt + slack; ; limit *= 2 {
			cut := msg
			if len(cut) > limit {
				cut = cut[:limit]
			}
			s = collapseSpace(rs.scrub(cut))
			if len(cut) == len(msg) {
				break
			}
			if len(s) >= maxExcerpt+slack {
				// A secret cut at limit is within the last slack
				// bytes, past what is quoted.
				break
			}
		}
		if s != "" {
			if code != "" {
				b.WriteByte(' ')
			} else {
				b.WriteString(": ")
			}
			b.WriteString(quoteClip(s, maxExcerpt))
		}
	}
	return b.String()
}

// collapseSpace writes every run of white space in s as one space, none at
// either end.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			space = b.Len() > 0
		} else {
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// quoteClip is s quoted as strconv.Quote does, its content (escapes
// counted) at most limit bytes: a longer s is cut between two characters,
// never inside an escape, and ends "..." within the quotes.
func quoteClip(s string, limit int) string {
	q := strconv.Quote(s)
	if len(q)-2 <= limit {
		return q
	}
	out := []byte{'"'}
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		p := strconv.Quote(s[i : i+n])
		p = p[1 : len(p)-1]
		if len(out)-1+len(p) > limit-3 {
			break
		}
		out = append(out, p...)
		i += n
	}
	return string(append(out, `..."`...))
}
