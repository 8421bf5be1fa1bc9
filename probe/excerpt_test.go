package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/config"
)

// A step refused on its status says what the server said: the error fields
// of a JSON body, an HTML page's title, a text body's first line; redacted,
// collapsed, cut and quoted (see statusExcerpt).
func TestStatusSaysWhatTheServerSaid(t *testing.T) {
	const tok = "tok-abcdefghijklmnop-0123456789" // sent as a bearer token: a credential of the run
	huge := strings.Repeat("x", 900<<10)
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
		want   string // the whole error
	}{
		{"matrix forbidden", 403, "application/json",
			`{"errcode":"M_FORBIDDEN","error":"Invalid username or password"}`,
			`login: status 403, want 200: M_FORBIDDEN "Invalid username or password"`},
		{"matrix rate limited", 429, "application/json",
			`{"errcode":"M_LIMIT_EXCEEDED","error":"Too Many Requests","retry_after_ms":1}`,
			`login: status 429, want 200: M_LIMIT_EXCEEDED "Too Many Requests"`},
		{"matrix database locked", 500, "application/json",
			`{"errcode":"M_UNKNOWN","error":"Internal server error: database is locked"}`,
			`login: status 500, want 200: M_UNKNOWN "Internal server error: database is locked"`},
		{"problem details", 403, "application/problem+json",
			`{"type":"https://example.com/probs/out-of-credit","title":"You do not have enough credit.","detail":"Your current balance is 30, but that costs 50.","status":403}`,
			`login: status 403, want 200: "You do not have enough credit.: Your current balance is 30, but that costs 50."`},
		{"message", 502, "application/json", `{"message":"upstream connect error"}`,
			`login: status 502, want 200: "upstream connect error"`},
		{"oauth", 400, "application/json", `{"error":"invalid_grant","error_description":"The refresh token is expired"}`,
			`login: status 400, want 200: invalid_grant "The refresh token is expired"`},
		{"oauth code alone", 401, "application/json", `{"error":"invalid_client"}`,
			`login: status 401, want 200: invalid_client`},
		{"centrifugo api error", 400, "application/json", `{"error":{"code":102,"message":"unknown channel"}}`,
			`login: status 400, want 200: "unknown channel"`},
		{"google style", 403, "application/json", `{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}`,
			`login: status 403, want 200: PERMISSION_DENIED "The caller does not have permission"`},
		{"json:api errors", 422, "application/vnd.api+json", `{"errors":[{"status":"422","title":"Invalid Attribute","detail":"First name must contain at least two characters."}]}`,
			`login: status 422, want 200: "Invalid Attribute: First name must contain at least two characters."`},
		{"json sent as text", 500, "text/plain; charset=utf-8", `{"error":"database is locked"}`,
			`login: status 500, want 200: "database is locked"`},
		{"json without error fields says nothing", 500, "application/json", `{"id":"x","access_token":"fresh-token-value"}`,
			`login: status 500, want 200`},
		{"json string", 503, "application/json", `"maintenance"`,
			`login: status 503, want 200: "maintenance"`},
		{"broken json read as text", 500, "application/json", "{\"error\": \"cut\n",
			`login: status 500, want 200: "{\"error\": \"cut"`},
		{"text first non-empty line", 503, "text/plain", "\n  \r\n  no healthy   upstream\t \nsecond line\n",
			`login: status 503, want 200: "no healthy upstream"`},
		{"html title", 502, "text/html", "<html><head>\n<TITLE lang=en>502 Bad\n Gateway &amp; more</TITLE></head><body><h1>502</h1></body></html>",
			`login: status 502, want 200: "502 Bad Gateway & more"`},
		{"html without title", 500, "text/html", "<html><body><p>oops</p></body></html>",
			`login: status 500, want 200`},
		{"binary says nothing", 500, "image/png", "\x89PNG\r\n\x1a\n",
			`login: status 500, want 200`},
		{"empty body", 500, "text/plain", "", `login: status 500, want 200`},
		{"empty json body", 401, "application/json", "", `login: status 401, want 200`},
		{"control characters", 500, "text/plain", "bad \x1b[2Jthing\x07 here\u202e!\n2026-12-05 level=INFO forged",
			`login: status 500, want 200: "bad \x1b[2Jthing\a here\u202e!"`},
		{"control characters in json", 403, "application/json", `{"errcode":"M_FORBIDDEN","error":"no\u001b[31m\nINFO forged line"}`,
			`login: status 403, want 200: M_FORBIDDEN "no\x1b[31m INFO forged line"`},
		{"huge body", 500, "text/plain", huge,
			`login: status 500, want 200: "` + strings.Repeat("x", maxExcerpt-3) + `..."`},
		{"huge json body says nothing", 500, "application/json", `{"error":"stack overflow","trace":"` + huge + `"}`,
			`login: status 500, want 200`},
		{"huge html body, title within its start", 502, "text/html", "<title>Bad Gateway</title>" + huge,
			`login: status 502, want 200: "Bad Gateway"`},
		{"long message cut at a rune", 500, "text/plain", strings.Repeat("é", 100),
			`login: status 500, want 200: "` + strings.Repeat("é", (maxExcerpt-3)/2) + `..."`},
		{"echoed password", 401, "application/json", `{"error":"bad password ` + testSecret + `"}`,
			`login: status 401, want 200: "bad password ***"`},
		{"echoed token", 401, "application/json", `{"error":"bad token ` + tok + `..."}`,
			`login: status 401, want 200: "bad token ***..."`},
		{"echoed token past the cut", 401, "text/plain", strings.Repeat("a", maxExcerpt-10) + " " + tok,
			`login: status 401, want 200: "` + strings.Repeat("a", maxExcerpt-10) + ` ***"`},
		{"echoed token in a title", 401, "text/html", "<title>bad &#116;ok-abcdefghijklmnop-0123456789</title>",
			`login: status 401, want 200: "bad ***"`},
		{"windows-1251", 500, "text/plain; charset=windows-1251", "\xce\xf8\xe8\xe1\xea\xe0 \xe1\xe0\xe7\xfb",
			`login: status 500, want 200: "Ошибка базы"`},
		{"not utf-8 undeclared", 500, "text/plain", "caf\xe9 ferm\xe9",
			`login: status 500, want 200: "caf\xe9 ferm\xe9"`},
		{"an expected status says nothing", 200, "application/json", `{"error":"ignored"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			f := config.Flow{
				Vars: []config.Var{{Name: "tok", Value: tok}},
				Steps: []config.Step{{Name: "login", Function: "login", Request: config.Request{
					Method: "POST", URL: srv.URL + "/login", Headers: map[string]string{"Authorization": "Bearer ${tok}"},
					JSON: map[string]any{"password": "${env:PW}"}},
					Expect: config.Expect{Status: []int{200}}}},
			}
			run := runOne(t, context.Background(), f, Options{})
			got := run.Steps[0].Error
			if got != tc.want {
				t.Errorf("error\n got %s\nwant %s", got, tc.want)
			}
			if strings.Contains(got, testSecret) || strings.Contains(got, tok) || strings.ContainsAny(got, "\n\r\x1b\u202e") || !utf8.ValidString(got) {
				t.Errorf("error %q holds a secret, a raw control or bidi character, or bytes not UTF-8", got)
			}
		})
	}
}

// A redirect not followed says nothing of its body (a browser's fallback);
// one followed says what the answer it led to said.
func TestStatusExcerptAfterRedirect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/go":
			http.Redirect(w, r, "/broken", http.StatusFound) // <a href="/broken">Found</a>.
		case "/broken":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"errcode":"M_UNKNOWN","error":"database is locked"}`)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name      string
		redirects int
		want      string
	}{
		{"followed", 5, `get: status 500, want 200: M_UNKNOWN "database is locked"`},
		{"not followed", 0, `get: status 302, want 200`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := config.Flow{MaxRedirects: tc.redirects, Steps: []config.Step{{Name: "get", Function: "get",
				Request: config.Request{URL: srv.URL + "/go"}, Expect: config.Expect{Status: []int{200}}}}}
			cfg := testConfig(f)
			cfg.Defaults.Interval = time.Minute // a loaded config's: max_redirects 0 follows none
			r, err := NewRunner(cfg, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.CloseIdle()
			run := r.Run(context.Background(), &cfg.Services[0].Flows[0])
			if got := run.Steps[0].Error; got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}

// The excerpt is quoted from the body the step read, within its
// max_body_bytes: a larger body is not read past the limit and adds no
// excerpt, but a step whose status failed says the status first, the
// overrun after it; a step whose status passed fails on the size, as it
// did. A body that never ends is cut at the limit, not read to the
// flow's timeout.
func TestStatusExcerptWithinBodyLimit(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   []int  // expect.status
		path   string // "/endless": the body never ends
		err    string // the whole error
	}{
		{"503 over the limit", 503, []int{200}, "", "get: status 503, want 200 (body larger than 100 bytes)"},
		{"503 over the limit, default statuses", 503, nil, "", "get: status 503, want 200-399 (body larger than 100 bytes)"},
		{"429 over the limit, two wanted", 429, []int{200, 204}, "", "get: status 429, want 200 or 204 (body larger than 100 bytes)"},
		{"200 over the limit", 200, []int{200}, "", "get: body larger than 100 bytes"},
		{"201 over the limit, default statuses", 201, nil, "", "get: body larger than 100 bytes"},
		{"503 that never ends", 503, []int{200}, "/endless", "get: status 503, want 200 (body larger than 100 bytes)"},
		{"200 that never ends", 200, []int{200}, "/endless", "get: body larger than 100 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, strings.Repeat("down ", 1000))
				if r.URL.Path == "/endless" {
					w.(http.Flusher).Flush()
					<-r.Context().Done() // until the probe hangs up
				}
			}))
			defer srv.Close()
			f := config.Flow{MaxBodyBytes: 100, Timeout: 30 * time.Second, Steps: []config.Step{{Name: "get", Function: "get",
				Request: config.Request{URL: srv.URL + tc.path}, Expect: config.Expect{Status: tc.want}}}}
			run := runOne(t, context.Background(), f, Options{})
			if got := run.Steps[0].Error; got != tc.err {
				t.Errorf("error %q, want %q", got, tc.err)
			}
			if got := run.Steps[0].HTTPStatus; got != tc.status {
				t.Errorf("http status %d, want %d", got, tc.status)
			}
		})
	}
}

// A stream's handshake refused 429 or 503, whose body the step reads for
// its retry_after_ms, says what the hub said too; another refusal's body
// is not read, and its error is the status alone.
func TestStreamRefusalSaysWhatTheServerSaid(t *testing.T) {
	tests := []struct {
		kind   string
		status int
		body   string
		want   string
	}{
		{"websocket", 429, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many connections"}`,
			`subscribe: websocket handshake: status 429, want 101: M_LIMIT_EXCEEDED "Too many connections"`},
		{"websocket", 503, "hub draining\n", `subscribe: websocket handshake: status 503, want 101: "hub draining"`},
		{"websocket", 401, `{"error":"not read"}`, `subscribe: websocket handshake: status 401, want 101`},
		{"sse", 429, `{"errcode":"M_LIMIT_EXCEEDED","error":"Too many connections"}`,
			`subscribe: sse: status 429, want 200: M_LIMIT_EXCEEDED "Too many connections"`},
		{"sse", 503, "hub draining\n", `subscribe: sse: status 503, want 200: "hub draining"`},
		{"sse", 401, `{"error":"not read"}`, `subscribe: sse: status 401, want 200`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.kind, tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(tc.body, "{") {
					w.Header().Set("Content-Type", "application/json")
				} else {
					w.Header().Set("Content-Type", "text/plain")
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			st := config.Step{Name: "subscribe", Function: "receive"}
			if tc.kind == "sse" {
				st.SSE = &config.Stream{URL: srv.URL + "/events"}
			} else {
				st.WebSocket = &config.Stream{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"}
			}
			run := runOne(t, context.Background(), config.Flow{Steps: []config.Step{st}}, Options{})
			if got := run.Steps[0].Error; got != tc.want {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}
