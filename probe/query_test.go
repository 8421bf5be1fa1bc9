package probe

import (
	"context"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestQueryOnTheWire: a variable put into a URL's query as it is (an
// extracted name with a space or a quote, a Korean place name) is sent
// percent-encoded, as a browser sends what is typed into its address bar.
// The path was encoded so, but the query went out raw: a space split the
// request line, the target answered 400 and the flow was counted down; a
// newline failed the step in the client.
func TestQueryOnTheWire(t *testing.T) {
	_, srv := newTarget(t)
	tests := []struct {
		name, value, url, want string
	}{
		{"space and quotes", `Gangnam "GN"`, "/echo?q=${v}&n=1", `q=Gangnam%20%22GN%22&n=1`},
		{"non-ASCII", "서울역", "/echo?q=${v}", `q=%EC%84%9C%EC%9A%B8%EC%97%AD`},
		{"control characters", "a\nb\tc", "/echo?q=${v}", `q=a%0Ab%09c`},
		{"angle brackets", "<x>", "/echo?q=${v}", `q=%3Cx%3E`},
		{"escaped by the config kept", "a b", "/echo?q=${urlquery(v)}&r=%41", `q=a+b&r=%41`},
		{"structure kept", "a=1&b=2", "/echo?${v}", `a=1&b=2`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := get("s", srv.URL+tc.url)
			st.Expect = config.Expect{JSONPath: []config.PathMatch{{Path: "$.query", Matcher: eq(tc.want)}}}
			f := config.Flow{Vars: []config.Var{{Name: "v", Value: tc.value}}, Steps: []config.Step{st}}
			run := runOne(t, context.Background(), f, Options{})
			wantStep(t, run.Steps[0], StatusOK, "")
		})
	}
}

// TestRenderedURLNotHTTP: a URL that a variable made into no http(s) URL
// (an extracted relative path where a base was meant) fails naming the URL
// it became; Go's client said only `unsupported protocol scheme ""`.
func TestRenderedURLNotHTTP(t *testing.T) {
	_, srv := newTarget(t)
	a := get("a", srv.URL+"/echo")
	a.Extract = []config.Extract{{Var: "base", JSONPath: "$.path"}}
	b := get("b", "${base}/x")
	c := get("c", "${base}")
	for _, tc := range []struct {
		step config.Step
		want string
	}{
		{b, `b: url "/echo/x": want http:// or https:// and a host`},
		{c, `c: url "/echo": want http:// or https:// and a host`},
	} {
		run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{a, tc.step}}, Options{})
		wantStep(t, run.Steps[1], StatusFailed, tc.want)
	}
}

// TestHeaderValueLineBreak: a variable that brings a line break into a
// header (a token extracted from a JSON string with "\n" in it) fails the
// step saying so, without the value; Go said only "invalid header field
// value".
func TestHeaderValueLineBreak(t *testing.T) {
	_, srv := newTarget(t)
	for _, tc := range []struct{ value, want string }{
		{"tok\nline", "s: header X-Tok: the value holds a line break, which a header cannot carry"},
		{"tok\x01", "s: header X-Tok: the value holds a control character, which a header cannot carry"},
		{"tok\tok é", ""},
	} {
		st := get("s", srv.URL+"/echo")
		st.Request.Headers = map[string]string{"X-Tok": "${v}"}
		f := config.Flow{Vars: []config.Var{{Name: "v", Value: tc.value}}, Steps: []config.Step{st}}
		run := runOne(t, context.Background(), f, Options{})
		if tc.want == "" {
			wantStep(t, run.Steps[0], StatusOK, "")
		} else {
			wantStep(t, run.Steps[0], StatusFailed, tc.want)
		}
	}
}
