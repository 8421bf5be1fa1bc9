package config

import (
	"strings"
	"testing"
)

// TestRealServerExamples: the shipped examples for real platforms load and
// keep the shape their README recipes describe (test/integration runs them
// against Dendrite and Centrifugo).
func TestRealServerExamples(t *testing.T) {
	env := map[string]string{"MATRIX_PASSWORD": "pw-0123456789", "CENTRIFUGO_HMAC_SECRET": "hmac-0123456789", "CENTRIFUGO_API_KEY": "key-0123456789"}
	opts := Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	kinds := func(steps []Step) string {
		var out []string
		for _, s := range steps {
			out = append(out, s.Name+":"+string(s.Kind()))
		}
		return strings.Join(out, " ")
	}
	t.Run("matrix", func(t *testing.T) {
		cfg, err := Load("../examples/matrix.yaml", opts)
		if err != nil {
			t.Fatal(err)
		}
		f := cfg.Services[0].Flows[0]
		if f.Session == nil || len(f.Session.Steps) != 1 || f.Session.Steps[0].Name != "login" {
			t.Fatalf("session = %+v, want the login", f.Session)
		}
		if len(f.Teardown) != 1 || f.Teardown[0].Name != "logout" || f.Teardown[0].When != WhenSessionEnd {
			t.Errorf("teardown = %+v, want a logout when the session ends", f.Teardown)
		}
		if !strings.Contains(f.Steps[1].Request.URL, "${urlpath(room)}") {
			t.Errorf("send URL %q does not escape the room id", f.Steps[1].Request.URL)
		}
		if got := kinds(f.Steps); got != "sync-position:request send:request receive:request" {
			t.Errorf("steps = %s", got)
		}
	})
	t.Run("centrifugo", func(t *testing.T) {
		cfg, err := Load("../examples/centrifugo.yaml", opts)
		if err != nil {
			t.Fatal(err)
		}
		f := cfg.Services[0].Flows[0]
		want := "websocket:websocket websocket-connected:await sse:sse sse-connected:await http-stream:sse http-stream-connected:await publish:request receive-websocket:await receive-sse:await receive-http-stream:await"
		if got := kinds(f.Steps); got != want {
			t.Errorf("steps = %s\nwant    %s", got, want)
		}
		jwt := false
		for _, v := range f.Vars {
			jwt = jwt || (v.Name == "conn_token" && v.JWT != nil && v.JWT.Alg == "HS256")
		}
		if !jwt {
			t.Error("no HS256 conn_token var: the probe signs its own connection token")
		}
	})
}
