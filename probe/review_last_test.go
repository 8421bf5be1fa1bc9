package probe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestLinesStreamSentBackWithAnotherQuery: a format: lines stream whose
// session ended is sent to the login form, which logs it in again by
// itself (an SSO whose own session is good) and sends it on to its next=
// rewritten with another query (/feed/ -> /accounts/login/?next=/feed/ ->
// /feed/?v=2): that is the stream asked for (a page is told by scheme,
// host, port and path), so it passes with no new login by the probe and
// no refusal, at every run.
func TestLinesStreamSentBackWithAnotherQuery(t *testing.T) {
	app, mux := newWebAppMux()
	mux.HandleFunc("GET /feed/", func(w http.ResponseWriter, r *http.Request) {
		if !app.loggedIn(r) {
			http.Redirect(w, r, "/accounts/login/?next=/feed/", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		io.WriteString(w, "{\"n\":1}\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	outer := http.NewServeMux()
	outer.HandleFunc("GET /accounts/login/", func(w http.ResponseWriter, r *http.Request) {
		if next := r.URL.Query().Get("next"); next != "" {
			app.mu.Lock()
			app.sessions["sso"] = true
			app.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sessionid", Value: "sso", Path: "/"})
			http.Redirect(w, r, next+"?v=2", http.StatusFound)
			return
		}
		mux.ServeHTTP(w, r)
	})
	outer.Handle("/", mux)
	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)
	f := streamLoginFlow(srv.URL, "lines", 5, false)
	f.Steps[0].SSE.URL = srv.URL + "/feed/"
	cfg := testConfig(f)
	r, c := newStreamLoginRunner(t, cfg)
	expire := func() { app.expire(); c.Advance(time.Minute) }
	runLogins(t, r, &cfg.Services[0].Flows[0], &app.logins, []loginRun{
		{"first run logs in", nil, "form=ok login=ok subscribe=ok", 1},
		{"the session ended: the SSO sends it back with ?v=2", expire, "subscribe=ok", 1},
		{"and again", expire, "subscribe=ok", 1},
	})
}
