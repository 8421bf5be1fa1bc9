package probe

import "strconv"

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
// one: only what the config says in the open.
func ConfigText(s string) string {
	if strconv.CanBackquote(s) {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}
