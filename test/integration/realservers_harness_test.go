package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
)

// TestDendriteHarness checks the harness against the real homeserver: the
// API calls a Matrix flow makes, and what freezing, killing and restarting
// do to a client.
func TestDendriteHarness(t *testing.T) {
	d := startDendrite(t)
	if v := strings.TrimSpace(runTool(t, "", d.args[0], "--version")); v != "0.13.8" {
		t.Errorf("dendrite --version = %q, want 0.13.8", v)
	}
	d.createAccount("probe", "probe-password-1")
	room := d.createRoom("probe", "probe-password-1", "slaprobe")
	if !strings.Contains(room, ":localhost") {
		t.Errorf("room id %q", room)
	}
	before := d.devices("probe", "probe-password-1")

	tok := d.login("probe", "probe-password-1")
	st, m := d.matrix("GET", "/sync?timeout=0", tok, nil)
	since, _ := m["next_batch"].(string)
	if st != 200 || since == "" {
		t.Fatalf("sync: %d %v", st, m)
	}
	st, m = d.matrix("PUT", "/rooms/"+url.PathEscape(room)+"/send/m.room.message/txn-1", tok, map[string]any{"msgtype": "m.text", "body": "hello"})
	event, _ := m["event_id"].(string)
	if st != 200 || event == "" {
		t.Fatalf("send: %d %v", st, m)
	}
	// A sync answers as soon as anything is new for this device, which may
	// be the device list change of the login above rather than the message:
	// sync on from each next_batch until the message is in, for at most
	// five tries (each a long poll of up to 5 s).
	for try := 1; ; try++ {
		st, m = d.matrix("GET", "/sync?timeout=5000&since="+url.QueryEscape(since), tok, nil)
		if st == 200 && strings.Contains(jsonString(m), event) {
			break
		}
		next, _ := m["next_batch"].(string)
		if st != 200 || next == "" || try == 5 {
			t.Fatalf("sync since %s lacks %s (try %d): %d %v", since, event, try, st, m)
		}
		since = next
	}
	if got := d.devices("probe", "probe-password-1"); got != before+1 {
		t.Errorf("devices after one login: %d, want %d", got, before+1)
	}
	d.logout(tok)
	if got := d.devices("probe", "probe-password-1"); got != before {
		t.Errorf("devices after logout: %d, want %d", got, before)
	}

	versions := d.url + "/_matrix/client/versions"
	d.freeze()
	if err := quickGet(versions, 500*time.Millisecond); err == nil {
		t.Error("a frozen homeserver answered")
	}
	d.thaw()
	if err := quickGet(versions, 5*time.Second); err != nil {
		t.Errorf("after SIGCONT: %v", err)
	}
	d.kill()
	if err := quickGet(versions, time.Second); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("a killed homeserver: %v, want connection refused", err)
	}
	d.restart()
	tok = d.login("probe", "probe-password-1") // accounts survive the restart
	d.logout(tok)
}

// TestCentrifugoHarness checks the harness against the real hub in secure
// mode: a JWT signed with its HMAC secret connects over the bidirectional
// WebSocket and over uni SSE, a publication through the HTTP API reaches
// both; freezing and killing behave as for Dendrite.
func TestCentrifugoHarness(t *testing.T) {
	c := startCentrifugo(t)
	token := c.connToken(t, "probe", []string{"probe"}, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	ws, _, err := websocket.Dial(ctx, c.url+"/connection/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"id":1,"connect":{"token":"`+token+`"}}`)); err != nil {
		t.Fatal(err)
	}
	_, b, err := ws.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"connect"`) || !strings.Contains(string(b), `"probe"`) {
		t.Fatalf("connect reply: %s %v", b, err)
	}
	if !strings.Contains(string(b), `"version":"6.9.1`) {
		t.Errorf("connect reply does not report version 6.9.1: %s", b)
	}

	req, _ := http.NewRequestWithContext(ctx, "GET", c.url+"/connection/uni_sse?cf_connect="+url.QueryEscape(`{"token":"`+token+`"}`), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sse := bufio.NewReader(resp.Body)
	if line := readData(t, sse); !strings.Contains(line, `"connect"`) {
		t.Fatalf("first SSE event: %s", line)
	}

	c.publish("probe", map[string]string{"text": "hello", "run": "r-1"})
	_, b, err = ws.Read(ctx)
	if err != nil || !strings.Contains(string(b), `"push"`) || !strings.Contains(string(b), `"r-1"`) {
		t.Errorf("WebSocket push: %s %v", b, err)
	}
	if line := readData(t, sse); !strings.Contains(line, `"pub"`) || !strings.Contains(line, `"r-1"`) {
		t.Errorf("SSE publication: %s", line)
	}

	// A token signed with another key is refused.
	bad, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "probe", "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte("not-the-key"))
	req, _ = http.NewRequestWithContext(ctx, "GET", c.url+"/connection/uni_sse?cf_connect="+url.QueryEscape(`{"token":"`+bad+`"}`), nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		first, _ := bufio.NewReader(resp.Body).ReadString('\n')
		resp.Body.Close()
		if strings.Contains(first, `"connect"`) {
			t.Errorf("a token signed with another key connected: %s", first)
		}
	}

	health := c.url + "/health"
	c.freeze()
	if err := quickGet(health, 500*time.Millisecond); err == nil {
		t.Error("a frozen hub answered")
	}
	c.thaw()
	if err := quickGet(health, 5*time.Second); err != nil {
		t.Errorf("after SIGCONT: %v", err)
	}
	c.kill()
	if err := quickGet(health, time.Second); err == nil {
		t.Error("a killed hub answered")
	}
	c.restart()
	c.publish("probe", map[string]string{"text": "after restart"})
}

// connToken signs a Centrifugo connection JWT (HS256 with the hub's HMAC
// secret) for sub, subscribed server-side to channels.
func (c *centrifugo) connToken(t *testing.T, sub string, channels []string, ttl time.Duration) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "exp": time.Now().Add(ttl).Unix(), "channels": channels,
	}).SignedString([]byte(c.hmacSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readData returns the next SSE data line.
func readData(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("SSE stream: %v", err)
		}
		if strings.HasPrefix(line, "data:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
}

func quickGet(u string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errors.New(resp.Status)
	}
	return nil
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
