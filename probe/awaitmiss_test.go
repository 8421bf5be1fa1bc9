package probe

import "testing"

func TestAwaitMissShape(t *testing.T) {
	const miss = "receive: timeout after 10s: no matching message on stream sync"
	for _, tc := range []struct {
		name, err, want string
	}{
		{"none came: apart", "receive: timeout after 10s: no message on stream sync", "receive: timeout after 10s: no message on stream sync"},
		{"the only one", `receive: timeout after 10s: the only message on stream sync did not match: $.room_id does not equal "!mine:x" (got "!other:x")`, miss},
		{"several, the closest", `receive: timeout after 10s: none of 2-9 messages on stream sync matched; closest: $.content.body does not equal "seoul-17" (got "busan-17")`, miss},
		{"many", `receive: timeout after 10s: none of 1000 or more messages on stream sync matched; closest: $.type does not equal "m.room.message"`, miss},
		{"a callback", `callback: timeout after 30s: none of 10-99 callbacks matched; closest: signature does not match the body`, "callback: timeout after 30s: no matching callback"},
		{"no callback: apart", "callback: timeout after 30s: no callback", "callback: timeout after 30s: no callback"},
		{"the stream ended", `stream sync closed: EOF: the only message on stream sync did not match: $.type does not exist`, "stream sync closed: EOF: no matching message on stream sync"},
		{"session expired", `session expired: stream sync closed (4001): none of 2-9 messages on stream sync matched; closest: $.type does not exist`, "session expired: stream sync closed (4001): no matching message on stream sync"},
		{"not an await's", `status 503, want 200`, `status 503, want 200`},
		{"a request's JSONPath", `$.messages does not contain "m-1"`, `$.messages does not contain "m-1"`},
		{"a stream not open", "stream sync is not open", "stream sync is not open"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AwaitMissShape(tc.err); got != tc.want {
				t.Errorf("AwaitMissShape(%q)\n got %q\nwant %q", tc.err, got, tc.want)
			}
		})
	}
}
