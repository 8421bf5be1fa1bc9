package probe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/config"
)

// The await kind: wait, within the step's deadline, for the first message on
// a stream (or the first webhook callback to this run) that passes the
// step's payload check, extract from it, and measure send-to-receive
// latency: the message's arrival on the run's clock minus the start of the
// since step (by default the step just before). Messages that do not pass
// are taken and dropped, so awaits on one stream see its messages in order.
//
// "A message arrived or the deadline passed" is one select on the inbox and
// the run clock's After, so it works the same in virtual time: a replay's
// pushes are in the inbox before the step that caused them returns, and a
// virtual clock's After fires at once, ending the wait at the deadline
// without taking real time.

type awaitStep struct {
	stream  int // the stream step's index; -1 for a webhook
	name    string
	webhook bool
	since   int // the index of the step latency is measured from; -1: this step
	method  string
	hmac    *hmacCheck
}

type hmacCheck struct {
	secret tmpl
	header string
	prefix string
	base64 bool
}

func compileAwait(a *config.Await, sy *symbols, index map[string]int, idx int) (*awaitStep, error) {
	w := &awaitStep{stream: -1, since: -1}
	if a.Webhook != nil {
		w.webhook, w.name = true, "webhook"
		w.method = strings.ToUpper(a.Webhook.Method)
		if h := a.Webhook.HMAC; h != nil {
			t, err := sy.compile(h.Secret)
			if err != nil {
				return nil, fmt.Errorf("hmac_sha256 secret: %w", err)
			}
			if h.Header == "" {
				return nil, errors.New("hmac_sha256: no header")
			}
			w.hmac = &hmacCheck{secret: t, header: h.Header, prefix: h.Prefix, base64: h.Encoding == "base64"}
		}
	} else {
		i, ok := index[a.Stream]
		if !ok {
			return nil, fmt.Errorf("await: %q is not an earlier step", a.Stream)
		}
		w.stream, w.name = i, a.Stream
	}
	if a.Since != "" {
		i, ok := index[a.Since]
		if !ok {
			return nil, fmt.Errorf("await: since %q is not an earlier step", a.Since)
		}
		w.since = i
	} else if idx > 0 {
		w.since = idx - 1
	}
	return w, nil
}

func (w *awaitStep) attempt(ctx context.Context, rs *runState, cs *compiledStep) attempt {
	a := attempt{fatal: true} // the await keeps its own deadline: the shell takes its verdict
	var src *inbox
	var st *stream // the stream awaited; nil for a webhook
	what, where := "callback", ""
	if w.webhook {
		if rs.hooks == nil {
			a.fail = "await webhook: no webhook listener (run, once and demo serve one)"
			return a
		}
		src = rs.hooks
	} else {
		what, where = "message", " on stream "+w.name
		if w.stream < len(rs.streams) && rs.streams[w.stream] != nil {
			st = rs.streams[w.stream]
			src = st.inbox
		}
		if src == nil {
			a.fail = "stream " + w.name + " is not open"
			return a
		}
	}
	c := rs.c
	start := rs.starts[rs.cur]
	deadline, why := rs.deadline(cs, start)
	origin := start
	if w.since >= 0 && !rs.starts[w.since].IsZero() { // zero: it did not run (a teardown step skipped)
		origin = rs.starts[w.since]
	}
	var timer <-chan time.Time
	// last is why the message that came closest to passing did not (the
	// one that passed the most of the step's checks: a webhook's method
	// and signature, then the payload's in their order; the later of two
	// as close), lastData what it said, lastAt how many checks it passed.
	// Not the last message: on a stream that carries other traffic too
	// (presence, another location's probe) the last was any of them, and
	// the window's cause changed with it from run to run.
	seen, last, lastAt := 0, "", 0
	var lastData []byte
	said := false // the stream said the session expired (expiry.go)
	for final := false; ; {
		for {
			m, ok, err := src.take()
			if !ok {
				if err != nil && !final {
					a.fail = w.verdict(err.Error(), what, where, seen, withGot(rs, last, lastData))
					if said || st != nil && st.expiry.closed(int(st.closeCode.Load())) {
						a.fail = "session expired: " + a.fail
						a.expired, a.restart = true, w.stream
					}
					return a
				}
				break
			}
			seen++
			if why, at := w.match(rs, cs, &m); why != "" {
				if st != nil && st.expiry.says(rs, m.data) {
					if rs.refusedSession(rs.cur, http.StatusUnauthorized) {
						// The hub will deliver nothing on this connection:
						// said at once, so a new login has the run's time.
						a.fail = withGot(rs, "session expired: stream "+w.name+" said so", m.data)
						a.expired, a.restart = true, w.stream
						return a
					}
					// No new login would follow (the run logged in itself,
					// or did again already, or the flow has no session):
					// the await goes on, as for any other message, since a
					// protocol whose words the defaults only resemble (a
					// feed's {"error":{"code":109}}) may deliver after it.
					// Failed, it still counts as the session's refusal.
					said = true
				}
				if last == "" || at >= lastAt {
					last, lastData, lastAt = why, m.data, at
				}
				continue
			}
			a.fail, a.fatal = "", false
			a.latency, a.hasLatency = max(0, m.at.Sub(origin)), true
			return a
		}
		if final {
			a.fail = w.verdict(why, what, where, seen, withGot(rs, last, lastData))
			if said {
				a.fail = "session expired: " + a.fail
				a.expired, a.restart = true, w.stream
			}
			return a
		}
		if timer == nil {
			left := deadline.Sub(c.Now())
			if left <= 0 {
				final = true
				continue
			}
			timer = c.After(left)
		}
		select {
		case <-src.notify:
		case <-timer:
			final = true // look once more: what arrived before the deadline counts
		case <-ctx.Done():
			if rs.parent.Err() != nil {
				a.fail = rs.canceled()
				return a
			}
			final = true
		}
	}
}

// withGot adds to why, the reason a message did not match, what
// that message said (its first showLimit bytes, quoted, secrets removed),
// when why does not quote it already: "$.connect.client does not exist"
// alone hid that the hub had answered the connect command with an error
// (Centrifugo's {"id":1,"error":{"code":109,"message":"token expired"}}).
func withGot(rs *runState, why string, data []byte) string {
	if why == "" || data == nil || strings.Contains(why, "(got ") {
		return why
	}
	// Scrubbed as far as showLimit and the longest secret, a secret that
	// starts before showLimit is seen whole; but scrubbing shortens the
	// text, and a secret cut at the end could move into the shown part
	// ("*** *** s3cr3t-kk" from the same secret three times). So scrub
	// more until what is left after showLimit can hold the cut secret.
	slack := rs.slack()
	var s string
	for limit := showLimit + slack; ; limit *= 2 {
		cut := data[:min(limit, len(data))]
		s = rs.scrub(string(cut))
		if len(cut) == len(data) || len(s) >= showLimit+slack {
			break
		}
	}
	if len(s) > showLimit {
		cut := showLimit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return why + " (got " + strconv.Quote(s[:cut]+"...") + ")"
	}
	return why + " (got " + strconv.Quote(s) + ")"
}

// verdict is an await's failure: the reason, and what it saw (closest:
// why the message that came closest to passing did not).
func (w *awaitStep) verdict(reason, what, where string, seen int, closest string) string {
	switch {
	case seen == 0:
		return reason + ": no " + what + where
	case seen == 1:
		return reason + ": the only " + what + where + " did not match: " + closest
	}
	return reason + ": none of " + manyBucket(seen) + " " + what + "s" + where + " matched; closest: " + closest
}

// awaitMiss matches what verdict says after the reason when messages came
// and none matched: the only one that came and why it did not match, or
// how many came and why the closest did not.
var awaitMiss = regexp.MustCompile(`: (?:the only (message|callback)((?: on stream \S+)?) did not match: |none of (?:\d+-\d+|\d+ or more) (message|callback)s((?: on stream \S+)?) matched; closest: )`)

// AwaitMissShape is s, a step's error, with an await's account of the
// messages that came and did not match (verdict's) made one: "REASON: no
// matching message on stream S". A window's cause is the await's missing
// message, not what else the stream carried: with other traffic on it
// (another room's events, another location's probe, typing and presence)
// how many came and which came closest changed from run to run, the only
// one or several, and one fault made a cause a run (24 in 50 runs with
// another room's message in half of them; 32, the cap, with another
// location's). Each run's own error keeps the account. "no message" (none
// came at all: a stalled sync, a hub whose fan-out stopped) stays apart
// from it (messages came, ours not among them, or changed: a room turned
// encrypted, a redelivered publication), as an on-call tells the two
// apart. s unchanged when it is not an await's that messages came to.
//
// The note run.go appends when the run logged in again and a repeat: false
// step stopped it ("; logged in again, but the steps from `sync` were not
// tried again: ...") is kept after it: "no message" is known by the end of
// the error, and the other two forms are cut at the account, so the note
// would be lost with it.
func AwaitMissShape(s string) string {
	note := ""
	if m := reloginNote.FindStringIndex(s); m != nil {
		s, note = s[:m[0]], s[m[0]:]
	}
	m := awaitMiss.FindStringSubmatchIndex(s)
	if m == nil {
		return s + note
	}
	what, where := "", ""
	for i := 2; i+3 < len(m); i += 4 {
		if m[i] >= 0 {
			what, where = s[m[i]:m[i+1]], s[m[i+2]:m[i+3]]
			break
		}
	}
	return s[:m[0]] + ": no matching " + what + where + note
}

// reloginNote matches run.go's note on a run that logged in again but
// did not try its steps again (step names have no backquotes).
var reloginNote = regexp.MustCompile("; logged in again, " + stepsFrom + "`[^`]*`" + notTriedAgain + "`[^`]*` has repeat: false and was sent in this run$")

// manyBucket says a count of two or more by its order of magnitude ("2-9",
// "10-99", "100-999", "1000 or more"), not exactly: a window's cause is
// keyed on the error's text, and the count of what a stream carried besides
// the message awaited (other locations' probes in a shared room, presence,
// a hub's pings) changes from run to run, so "none of 3 messages" one run
// and "none of 5" the next made a new cause each time.
func manyBucket(n int) string {
	switch {
	case n < 10:
		return "2-9"
	case n < 100:
		return "10-99"
	case n < 1000:
		return "100-999"
	}
	return "1000 or more"
}

// match checks one message: method and signature for a callback, then the
// payload check. It returns "" when the message passes, and otherwise how
// far it got: a failed method -4, a failed signature -3 to -1 (verify),
// then as checkPayloadAt.
func (w *awaitStep) match(rs *runState, cs *compiledStep, m *message) (string, int) {
	if w.webhook {
		if w.method != "" && m.method != w.method {
			return "method " + m.method + ", want " + w.method, -4
		}
		if w.hmac != nil {
			if why, at := w.hmac.verify(rs, m); why != "" {
				return why, at
			}
		}
	}
	return rs.checkPayloadAt(&cs.pay, m.data, m.header, nil)
}

// verify checks an HMAC-SHA256 signature over the raw body. It returns ""
// when the signature holds, and otherwise how far the callback got, as
// awaitStep.match counts: -3 without the header (a scanner's or another
// integration's post to the public URL), -2 with one that does not decode,
// -1 with a signature that does not match (signed with another key: a
// provider that rotated its secret), so that the last says a run's
// callbacks' closest whatever order they came in.
func (h *hmacCheck) verify(rs *runState, m *message) (string, int) {
	got := m.header.Get(h.header)
	if got == "" {
		return "no " + h.header + " header (signature)", -3
	}
	got = strings.TrimPrefix(got, h.prefix)
	var sig []byte
	var err error
	if h.base64 {
		sig, err = base64.StdEncoding.DecodeString(got)
	} else {
		sig, err = hex.DecodeString(got)
	}
	if err != nil {
		enc := "hex"
		if h.base64 {
			enc = "base64"
		}
		return h.header + " is not a " + enc + " signature", -2
	}
	key, err := h.secret.render(&rs.sc)
	if err != nil {
		return "hmac_sha256 secret: " + err.Error(), -1
	}
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(m.data)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return h.header + " signature does not match the body", -1
	}
	return "", 0
}

// deadline is when the current step must end on the run's clock, the
// earlier of its own timeout and the flow's, and how to say it passed
// (the shell's words for the same deadlines).
func (rs *runState) deadline(cs *compiledStep, start time.Time) (time.Time, string) {
	d, why := rs.start.Add(rs.cf.timeout), "flow timeout after "+rs.cf.timeout.String()
	if cs.timeout > 0 {
		if sd := start.Add(cs.timeout); !sd.After(d) {
			d, why = sd, "timeout after "+cs.timeout.String()
		}
	}
	return d, why
}
