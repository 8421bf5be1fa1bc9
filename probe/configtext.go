package probe

import (
	"strconv"
	"strings"
)

// ConfigText quotes, in a step's error, a value that is the config's own
// text (an extraction's regex, a jwtclaim's claim name written in the
// config, a step's name), not one the run read from the target: between
// backquotes, as written, when it can be (strconv.CanBackquote), so that a
// window's cause keeps it whole (state's errorShape masks what is between
// double or single quotes, a target's value that changes from run to run:
// an ID, a token, a timestamp). Two checks of one step failing by turns,
// `sub` and `room`, are then two causes, not one. Text with a backquote or
// a control character in it is quoted as strconv.Quote does, and is
// masked as a value is. Never pass it a secret or anything rendered from
// one: only what the config says in the open. It stands right after one
// of the words ConfigTextAt knows: a new use needs new words there.
func ConfigText(s string) string {
	if strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// The words an error has just before the config's text that ConfigText
// quotes; ConfigTextAt knows them.
const (
	noMatchFor    = "no match for "                   // extract NAME: no match for `REGEX`
	noClaim       = "jwtclaim: the JWT has no claim " // ... no claim `sub`
	claimNamed    = "jwtclaim: claim "                // jwtclaim: claim `sub` is not JSON
	stepsFrom     = "but the steps from "             // logged in again, but the steps from `STEP`
	notTriedAgain = " were not tried again: "         // ... were not tried again: `STEP` has repeat: false
)

// ConfigTextAt reports whether a backquoted span that stands right after
// before, in a step's error, is ConfigText's: the config's own text, which
// state's errorShape keeps whole. Backquotes anywhere else are a target's
// (a WebSocket close reason, "request `a1f09c3e77` failed", stands
// unquoted in an error), its changing IDs masked as any other value: one
// fault, one cause.
func ConfigTextAt(before string) bool {
	for _, w := range [...]string{noMatchFor, noClaim, claimNamed, stepsFrom, notTriedAgain} {
		if strings.HasSuffix(before, w) {
			return true
		}
	}
	return false
}
