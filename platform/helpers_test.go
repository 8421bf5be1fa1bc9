package platform

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// t0 is an arbitrary instant for virtual clocks.
var t0 = time.Date(2022, 10, 15, 15, 0, 0, 0, time.FixedZone("KST", 9*3600))

// client talks to a platform over a real listener or through Transport.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	clk  clock.Clock // put in every request's context when set
}

// transports lists the two ways of reaching a platform.
var transports = []string{"httptest", "transport"}

func newClient(t testing.TB, p *Platform, how string) *client {
	t.Helper()
	switch how {
	case "httptest":
		srv := httptest.NewServer(p)
		t.Cleanup(srv.Close)
		// No keep-alive, so that a reset connection does not poison the next request.
		tr := &http.Transport{DisableKeepAlives: true}
		t.Cleanup(tr.CloseIdleConnections)
		return &client{t: t, base: srv.URL, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
	case "transport":
		return &client{t: t, base: "http://platform.test", hc: &http.Client{Transport: p.Transport()}}
	}
	t.Fatalf("unknown transport %q", how)
	return nil
}

// reply is one answer; err is set when there was no HTTP answer at all.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %q", r.status, err, r.body)
	}
	return m
}

func (r reply) str(t testing.TB, key string) string {
	t.Helper()
	s, ok := r.json(t)[key].(string)
	if !ok {
		t.Fatalf("answer has no string %q: %s", key, r.body)
	}
	return s
}

// do sends a request; body is JSON-encoded unless it is []byte.
func (c *client) do(method, path, token string, body any) reply {
	c.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	ctx := context.Background()
	if c.clk != nil {
		ctx = clock.NewContext(ctx, c.clk)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{err: err}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// login logs user into service and returns the token.
func (c *client) login(service, user string) string {
	c.t.Helper()
	r := c.do("POST", "/"+service+"/login", "", map[string]string{"user": user, "password": "pw"})
	if r.err != nil || r.status != 200 {
		c.t.Fatalf("login to %s: %v %d %s", service, r.err, r.status, r.body)
	}
	return r.str(c.t, "token")
}

func (c *client) must(r reply, status int) reply {
	c.t.Helper()
	if r.err != nil || r.status != status {
		c.t.Fatalf("want %d, got %v %d %s", status, r.err, r.status, r.body)
	}
	return r
}

// ids returns the ids of an inbox answer.
func ids(t testing.TB, r reply) []string {
	t.Helper()
	var in struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(r.body, &in); err != nil {
		t.Fatalf("inbox answer: %v: %s", err, r.body)
	}
	out := []string{}
	for _, m := range in.Messages {
		out = append(out, m.ID)
	}
	return out
}
