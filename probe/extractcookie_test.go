package probe

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// cookieTarget answers as sites with a double-submit CSRF token do: the
// token is only in a cookie (Laravel Sanctum's XSRF-TOKEN, set by a 204;
// Django's csrftoken, rotated at login on the redirect), and a write must
// send it back in a header.
func cookieTarget(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sanctum/csrf-cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "laravel_session", Value: "sess-0123456789", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "XSRF-TOKEN", Value: "xsrf-abcdef123456", Path: "/"})
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "csrftoken", Value: "rotated-987654321", Path: "/"})
		w.Header().Set("Location", "home")
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /home", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /deep/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "deep", Value: "only-under-deeper", Path: "/deeper/"})
	})
	// POST /double?cookie=NAME&header=NAME: 204 when the header holds the
	// cookie's value, 419 otherwise.
	mux.HandleFunc("POST /double", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(r.URL.Query().Get("cookie"))
		if err != nil || r.Header.Get(r.URL.Query().Get("header")) != c.Value {
			w.WriteHeader(419)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestExtractCookie: a flow reads a cookie's value (extract: {cookie: NAME})
// and sends it back in a header. With only jsonpath, regex and header
// (the first Set-Cookie line whole, and none of a redirect's) such a login
// could not be written.
func TestExtractCookie(t *testing.T) {
	srv := cookieTarget(t)
	ck := func(name string) []config.Extract { return []config.Extract{{Var: "tok", Cookie: name}} }
	post := func(cookie, header string) config.Step {
		return config.Step{Name: "write", Function: "write", Request: config.Request{
			Method: "POST", URL: srv.URL + "/double?cookie=" + cookie + "&header=" + header,
			Headers: map[string]string{header: "${tok}"}}, Expect: config.Expect{Status: []int{204}}}
	}
	tests := []struct {
		name    string
		steps   []config.Step
		status  Status
		errText string
	}{
		{"set by the response, among others", []config.Step{
			{Name: "a", Function: "a", Request: config.Request{URL: srv.URL + "/sanctum/csrf-cookie"}, Extract: ck("XSRF-TOKEN")},
			post("XSRF-TOKEN", "X-XSRF-TOKEN"),
		}, StatusOK, ""},
		{"set on a redirect on the way", []config.Step{
			{Name: "a", Function: "a", Request: config.Request{URL: srv.URL + "/login"}, Extract: ck("csrftoken")},
			post("csrftoken", "X-CSRFToken"),
		}, StatusOK, ""},
		{"set by an earlier step", []config.Step{
			get("a", srv.URL+"/sanctum/csrf-cookie"),
			{Name: "b", Function: "b", Request: config.Request{URL: srv.URL + "/home"}, Extract: ck("XSRF-TOKEN")},
			post("XSRF-TOKEN", "X-XSRF-TOKEN"),
		}, StatusOK, ""},
		{"no such cookie", []config.Step{
			{Name: "a", Function: "a", Request: config.Request{URL: srv.URL + "/sanctum/csrf-cookie"}, Extract: ck("csrftoken")},
			post("csrftoken", "X-CSRFToken"),
		}, StatusFailed, "a: extract tok: no cookie csrftoken for this URL"},
		{"not sent to this path", []config.Step{
			{Name: "a", Function: "a", Request: config.Request{URL: srv.URL + "/deep/set"}, Extract: ck("deep")},
		}, StatusFailed, "a: extract tok: no cookie deep for this URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := runOne(t, context.Background(), config.Flow{Steps: tc.steps}, Options{})
			last := run.Steps[0]
			for _, s := range run.Steps {
				if s.Status != StatusOK {
					last = s
					break
				}
				last = s
			}
			wantStep(t, last, tc.status, tc.errText)
		})
	}
}
