package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// Real third-party servers, built from the Go module proxy by
// scripts/realservers.sh into its cache: Dendrite v0.13.8 (a Matrix
// homeserver) and Centrifugo v6.9.1 (a real-time messaging hub). Each test
// starts its own on loopback with a generated key and config.

var realBins struct {
	once                 sync.Once
	dendrite, centrifugo string
	err                  error
}

// realServerBins returns the directories holding the Dendrite tools and the
// Centrifugo binary: from SLAPROBE_DENDRITE_BIN and SLAPROBE_CENTRIFUGO_BIN
// (scripts/test.sh sets them), else by running `scripts/realservers.sh
// install` (a cold build takes minutes; later runs reuse the cache). A build
// that fails fails the test with the script's own message: never a skip.
func realServerBins(t *testing.T) (dendrite, centrifugo string) {
	t.Helper()
	realBins.once.Do(func() {
		d, c := os.Getenv("SLAPROBE_DENDRITE_BIN"), os.Getenv("SLAPROBE_CENTRIFUGO_BIN")
		if d == "" || c == "" {
			var out, errOut bytes.Buffer
			cmd := exec.Command("bash", "../../scripts/realservers.sh", "install")
			cmd.Stdout, cmd.Stderr = &out, io.MultiWriter(&errOut, os.Stderr)
			if err := cmd.Run(); err != nil {
				realBins.err = fmt.Errorf("scripts/realservers.sh install: %v\n%s", err, errOut.String())
				return
			}
			for _, line := range strings.Split(out.String(), "\n") {
				k, v, ok := strings.Cut(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), "=")
				if !ok {
					continue
				}
				switch k {
				case "SLAPROBE_DENDRITE_BIN":
					d = v
				case "SLAPROBE_CENTRIFUGO_BIN":
					c = v
				}
			}
		}
		for _, p := range []string{filepath.Join(d, "dendrite"), filepath.Join(d, "create-account"), filepath.Join(c, "centrifugo")} {
			if _, err := os.Stat(p); err != nil {
				realBins.err = fmt.Errorf("%v: run `bash scripts/realservers.sh install` (it builds Dendrite and Centrifugo from the Go module proxy)", err)
				return
			}
		}
		realBins.dendrite, realBins.centrifugo = d, c
	})
	if realBins.err != nil {
		t.Fatal(realBins.err)
	}
	return realBins.dendrite, realBins.centrifugo
}

// server is a real server process that a test can freeze, kill and
// restart, always on the same address and data.
type server struct {
	t       *testing.T
	name    string
	args    []string
	ready   string // URL that answers 2xx once the server serves
	p       *proc
	frozen  bool
	started []time.Time
}

func (s *server) start() {
	s.t.Helper()
	s.p = start(s.t, s.name, s.args...)
	s.frozen = false
	waitHTTP(s.t, s.ready, 0, 60*time.Second)
	s.started = append(s.started, time.Now())
}

// freeze stops the process (SIGSTOP): the kernel still accepts connections,
// but nothing answers, as with a hung server.
func (s *server) freeze() {
	s.t.Helper()
	if err := s.p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("SIGSTOP %s: %v", s.name, err)
	}
	s.waitState(true)
	s.frozen = true
}

// waitState waits until the kernel reports every thread of the process
// stopped (or none), since kill(2) returns before a multi-threaded process
// has stopped.
func (s *server) waitState(stopped bool) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", s.p.cmd.Process.Pid))
		n := 0
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			if err != nil {
				continue
			}
			// stat is "pid (comm) STATE ..."; comm may hold spaces.
			if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && (b[i+2] == 'T') == stopped {
				n++
			}
		}
		if len(tasks) > 0 && n == len(tasks) {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: %d of %d threads in the wanted state (stopped=%v) after 5 s", s.name, n, len(tasks), stopped)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// thaw resumes a frozen process (SIGCONT).
func (s *server) thaw() {
	s.t.Helper()
	if err := s.p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("SIGCONT %s: %v", s.name, err)
	}
	s.waitState(false)
	s.frozen = false
}

// kill ends the process with SIGKILL and waits for it.
func (s *server) kill() {
	s.t.Helper()
	_ = syscall.Kill(-s.p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-s.p.done:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("%s did not die of SIGKILL", s.name)
	}
}

// restart starts the server again on the same address and data.
func (s *server) restart() { s.t.Helper(); s.start() }

// runTool runs a helper command and fails the test with its output.
func runTool(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// setYAML sets the scalar at path (mapping keys) in a YAML document.
func setYAML(t *testing.T, doc *yaml.Node, value any, path ...string) {
	t.Helper()
	n := doc
	if n.Kind == yaml.DocumentNode {
		n = n.Content[0]
	}
	for i, key := range path {
		found := false
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				if i == len(path)-1 {
					var v yaml.Node
					if err := v.Encode(value); err != nil {
						t.Fatal(err)
					}
					n.Content[j+1] = &v
				}
				n = n.Content[j+1]
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("generated config has no %s", strings.Join(path[:i+1], "."))
		}
	}
}

// dendrite is a Matrix homeserver on loopback.
type dendrite struct {
	*server
	url    string // http://127.0.0.1:PORT
	config string
	bin    string
}

// startDendrite generates a signing key and a config (SQLite under a temp
// dir, federation off, a registration shared secret), applies edit to it
// (when given) and starts Dendrite.
func startDendrite(t *testing.T, edit ...func(*yaml.Node)) *dendrite {
	t.Helper()
	bin, _ := realServerBins(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "matrix_key.pem")
	runTool(t, "", filepath.Join(bin, "generate-keys"), "--private-key", key)
	gen := runTool(t, "", filepath.Join(bin, "generate-config"), "-dir", filepath.Join(dir, "data"),
		"-db", "file:"+filepath.Join(dir, "dendrite.db"), "-server", "localhost")
	// generate-config may log before the YAML; the YAML starts at "version:".
	if i := strings.Index(gen, "version:"); i > 0 {
		gen = gen[i:]
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(gen), &doc); err != nil {
		t.Fatalf("generate-config output: %v", err)
	}
	setYAML(t, &doc, key, "global", "private_key")
	setYAML(t, &doc, true, "global", "disable_federation")
	setYAML(t, &doc, randomHex(t, 16), "client_api", "registration_shared_secret")
	for _, e := range edit {
		e(&doc)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "dendrite.yaml", string(out))
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := &dendrite{url: "http://" + addr, config: cfg, bin: bin}
	d.server = &server{t: t, name: "dendrite",
		args:  []string{filepath.Join(bin, "dendrite"), "--config", cfg, "--http-bind-address", addr},
		ready: d.url + "/_matrix/client/versions"}
	d.start()
	return d
}

// createAccount makes a user with Dendrite's own create-account tool (the
// password goes in on stdin, not the command line).
// probeRoom makes the account the examples/matrix.yaml probe logs in as, and
// the room it sends to, as README's recipe does; it returns both.
func (d *dendrite) probeRoom() (user, password, room string) {
	d.t.Helper()
	user, password = "slaprobe", "probe-password-1"
	d.createAccount(user, password)
	return user, password, d.createRoom(user, password, "slaprobe probe room")
}

func (d *dendrite) createAccount(user, password string) {
	d.t.Helper()
	runTool(d.t, password, filepath.Join(d.bin, "create-account"), "--config", d.config,
		"--username", user, "-passwordstdin", "--url", d.url)
}

// matrix calls the client-server API; token may be empty.
func (d *dendrite) matrix(method, path, token string, body any) (int, map[string]any) {
	d.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			d.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, d.url+"/_matrix/client/v3"+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &m); err != nil {
		d.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// login logs user in and returns the access token.
func (d *dendrite) login(user, password string) string {
	d.t.Helper()
	st, m := d.matrix("POST", "/login", "", map[string]any{
		"type":       "m.login.password",
		"identifier": map[string]string{"type": "m.id.user", "user": user},
		"password":   password,
	})
	tok, _ := m["access_token"].(string)
	if st != 200 || tok == "" {
		d.t.Fatalf("login %s: %d %v", user, st, m)
	}
	return tok
}

func (d *dendrite) logout(token string) {
	d.t.Helper()
	if st, m := d.matrix("POST", "/logout", token, map[string]any{}); st != 200 {
		d.t.Fatalf("logout: %d %v", st, m)
	}
}

// devices counts user's devices (every login makes one), measured with a
// login of its own that is logged out again.
func (d *dendrite) devices(user, password string) int {
	d.t.Helper()
	return len(d.deviceIDs(user, password))
}

// deviceIDs lists the ids of user's devices, but the one this listing
// logged in with.
func (d *dendrite) deviceIDs(user, password string) []string {
	d.t.Helper()
	tok := d.login(user, password)
	defer d.logout(tok)
	st, who := d.matrix("GET", "/account/whoami", tok, nil)
	own, _ := who["device_id"].(string)
	if st != 200 || own == "" {
		d.t.Fatalf("whoami: %d %v", st, who)
	}
	st, m := d.matrix("GET", "/devices", tok, nil)
	list, ok := m["devices"].([]any)
	if st != 200 || !ok {
		d.t.Fatalf("devices: %d %v", st, m)
	}
	var ids []string
	for _, x := range list {
		dev, _ := x.(map[string]any)
		if id, _ := dev["device_id"].(string); id != own {
			ids = append(ids, id)
		}
	}
	return ids
}

// createRoom makes a private room as user and returns its id.
func (d *dendrite) createRoom(user, password, name string) string {
	d.t.Helper()
	tok := d.login(user, password)
	defer d.logout(tok)
	st, m := d.matrix("POST", "/createRoom", tok, map[string]any{"name": name, "preset": "private_chat"})
	id, _ := m["room_id"].(string)
	if st != 200 || !strings.HasPrefix(id, "!") {
		d.t.Fatalf("createRoom: %d %v", st, m)
	}
	return id
}

// centrifugo is a Centrifugo hub on loopback, in its default secure mode.
type centrifugo struct {
	*server
	url        string // http://127.0.0.1:PORT
	hmacSecret string // client.token.hmac_secret_key: connection JWTs are signed with it
	apiKey     string // http_api.key: the publish API wants it in X-API-Key
}

// startCentrifugo writes a config with `centrifugo genconfig` (fresh HMAC
// secret and API key), enables the unidirectional SSE, WebSocket and HTTP
// streaming transports, binds loopback, applies edit (when given) and starts it.
func startCentrifugo(t *testing.T, edit ...func(cfg map[string]any)) *centrifugo {
	t.Helper()
	_, dir := realServerBins(t)
	bin := filepath.Join(dir, "centrifugo")
	work := t.TempDir()
	gen := filepath.Join(work, "gen.json")
	runTool(t, "", bin, "genconfig", "-c", gen)
	b, err := os.ReadFile(gen)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("genconfig output: %v", err)
	}
	client, _ := cfg["client"].(map[string]any)
	token, _ := client["token"].(map[string]any)
	api, _ := cfg["http_api"].(map[string]any)
	c := &centrifugo{}
	c.hmacSecret, _ = token["hmac_secret_key"].(string)
	c.apiKey, _ = api["key"].(string)
	if c.hmacSecret == "" || c.apiKey == "" {
		t.Fatalf("genconfig wrote no client.token.hmac_secret_key or http_api.key: %s", b)
	}
	port := freePort(t)
	cfg["http_server"] = map[string]any{"address": "127.0.0.1", "port": fmt.Sprint(port)}
	cfg["uni_sse"] = map[string]any{"enabled": true}
	cfg["uni_websocket"] = map[string]any{"enabled": true}
	cfg["uni_http_stream"] = map[string]any{"enabled": true}
	cfg["health"] = map[string]any{"enabled": true}
	for _, e := range edit {
		e(cfg)
	}
	out, _ := json.MarshalIndent(cfg, "", "  ")
	file := writeFile(t, work, "config.json", string(out))
	c.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	c.server = &server{t: t, name: "centrifugo", args: []string{bin, "-c", file}, ready: c.url + "/health"}
	c.start()
	return c
}

// publish posts data to channel through the server API.
func (c *centrifugo) publish(channel string, data any) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"channel": channel, "data": data})
	req, _ := http.NewRequest("POST", c.url+"/api/publish", bytes.NewReader(b))
	req.Header.Set("X-API-Key", c.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"result"`) {
		c.t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
}
