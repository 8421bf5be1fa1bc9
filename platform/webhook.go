package platform

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/slaprobe/slaprobe/clock"
)

// Payment webhooks: POST /payments/transfers takes an optional
// "callback_url". When the transfer settles, the platform POSTs to it, as a
// payment provider calls a merchant back:
//
//	POST <callback_url>
//	Content-Type: application/json
//	X-Webhook-Id: wh-<transfer id>
//	X-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook secret>
//
//	{"type":"transfer.settled","id":...,"from":...,"to":...,"amount":...,"status":"settled","at":...}
//
// A transfer lost to a drop fault never settles, so it calls nobody back; a
// down or error fault on payments receive at settlement time loses the call
// too. Slow faults do not delay it. A callback that fails (no answer, or not
// 2xx) is tried CallbackAttempts times, CallbackRetry apart on the request's
// clock.
//
// In process (through Transport: the demo) the callback is made before the
// transfer's 201 is returned, through Options.Callbacks; over a socket it is
// made in the background, as a provider would.

// DefaultWebhookSecret is the key the platform signs callbacks with when
// Options.WebhookSecret is empty. The demo config uses it.
const DefaultWebhookSecret = "demo-webhook-secret"

// SignatureHeader is the header that carries a callback's signature.
const SignatureHeader = "X-Signature"

const (
	// CallbackAttempts is how often a failing callback is tried.
	CallbackAttempts = 3
	// CallbackRetry is the wait between attempts.
	CallbackRetry = 2 * time.Second
	// callbackTimeout bounds one attempt, in real time.
	callbackTimeout = 10 * time.Second
	// maxCallbackURL bounds the callback_url field.
	maxCallbackURL = 2048
)

// Sign returns the X-Signature value of body under secret:
// "sha256=" and the lowercase hex HMAC-SHA256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// checkCallbackURL validates a transfer's callback_url: an absolute http or
// https URL; a loopback host unless remote callbacks are allowed.
func (p *Platform) checkCallbackURL(raw string) error {
	if len(raw) > maxCallbackURL {
		return fmt.Errorf("callback_url: longer than %d bytes", maxCallbackURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("callback_url: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("callback_url: want an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return errors.New("callback_url: credentials in the URL are not accepted")
	}
	if !p.remoteCallbacks && !loopbackHost(u.Hostname()) {
		return fmt.Errorf("callback_url: host %q is not loopback (the platform calls back loopback addresses only unless it allows remote callbacks)", u.Hostname())
	}
	return nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// defaultCallbacks is the callback transport over sockets: no proxy, dial
// and header timeouts, and, unless remote callbacks are allowed, a dialer
// that refuses any address that is not loopback (so a name that resolves
// elsewhere is refused too).
func defaultCallbacks(allowRemote bool) http.RoundTripper {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowRemote {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("platform: callback to %s refused: not a loopback address", address)
			}
			return nil
		}
	}
	return &http.Transport{
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: callbackTimeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
}

// settledEvent is the body of a settlement callback.
type settledEvent struct {
	Type   string    `json:"type"`
	ID     string    `json:"id"`
	From   string    `json:"from"`
	To     string    `json:"to"`
	Amount float64   `json:"amount"`
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// settled calls the transfer's callback_url, if any, now that it settled.
func (p *Platform) settled(c *call, t transfer, callbackURL string) {
	if callbackURL == "" {
		return
	}
	v := p.judge(c.svc, "receive", c.now, sample(c.svc, "receive", "CALLBACK", t.ID, c.body, c.now))
	if v.down != nil || v.err != nil {
		p.log.Debug("fault: callback lost", "service", c.svc, "transfer", t.ID)
		return
	}
	body, err := json.Marshal(settledEvent{"transfer.settled", t.ID, t.From, t.To, t.Amount, "settled", t.At})
	if err != nil {
		return // strings, a number and a time always encode
	}
	if c.r.RemoteAddr == inProcessAddr {
		p.callback(c.r.Context(), callbackURL, "wh-"+t.ID, body)
		return
	}
	// The request's context ends with the response; the callback keeps its
	// values (the clock) but not its end.
	go p.callback(context.WithoutCancel(c.r.Context()), callbackURL, "wh-"+t.ID, body)
}

// callback POSTs body to target, signed, trying up to CallbackAttempts
// times; it reports whether the target answered 2xx.
func (p *Platform) callback(ctx context.Context, target, id string, body []byte) bool {
	clk := clock.FromContext(ctx, p.clock)
	sig := Sign(p.webhookSecret, body)
	var last string
	for attempt := 1; attempt <= CallbackAttempts; attempt++ {
		if attempt > 1 {
			if err := clk.Sleep(ctx, CallbackRetry); err != nil {
				return false
			}
		}
		status, err := p.callOnce(ctx, target, id, sig, body)
		if err == nil && status/100 == 2 {
			p.callbacksOK.Add(1)
			return true
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("answered %d", status)
		}
	}
	p.callbacksFailed.Add(1)
	p.log.Warn("payment callback failed", "id", id, "attempts", CallbackAttempts, "error", last)
	return false
}

func (p *Platform) callOnce(ctx context.Context, target, id, sig string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, callbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "slaprobe-demo-platform")
	req.Header.Set("X-Webhook-Id", id)
	req.Header.Set(SignatureHeader, sig)
	resp, err := p.callbacks.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// CallbackStats returns how many payment callbacks were answered 2xx and how
// many failed every attempt.
func (p *Platform) CallbackStats() (ok, failed uint64) {
	return p.callbacksOK.Load(), p.callbacksFailed.Load()
}
