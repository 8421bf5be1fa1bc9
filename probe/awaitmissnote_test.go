package probe

import "testing"

// TestAwaitMissShapeReloginNote: an await whose session expired, when the
// new login found a step with repeat: false between the stream and the
// await, has run.go's note appended to its error ("; logged in again, but
// the steps from `sync` were not tried again: ..."). The three accounts of
// the missing message must still be one shape: "no message" was matched
// only at the end of the error, so with the note it stayed whole while the
// other two were cut at the account, the note with it, and one fault made
// two causes by whether another message came.
func TestAwaitMissShapeReloginNote(t *testing.T) {
	const note = "; logged in again, " + stepsFrom + "`sync`" + notTriedAgain + "`send` has repeat: false and was sent in this run"
	const want = "receive: session expired: stream sync closed (4001): no matching message on stream sync" + note
	const none = "receive: session expired: stream sync closed (4001): no message on stream sync" + note
	for _, tc := range []struct{ name, err, want string }{
		{"none came", none, none},
		{"the only one", `receive: session expired: stream sync closed (4001): the only message on stream sync did not match: $.type does not equal "m.room.message" (got "m.typing")` + note, want},
		{"several", `receive: session expired: stream sync closed (4001): none of 2-9 messages on stream sync matched; closest: $.content.body does not equal "seoul-17"` + note, want},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AwaitMissShape(tc.err); got != tc.want {
				t.Errorf("AwaitMissShape(%q)\n got %q\nwant %q", tc.err, got, tc.want)
			}
		})
	}
}
