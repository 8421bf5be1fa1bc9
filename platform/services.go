package platform

import (
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds on single fields, so that a hostile client cannot fill memory within
// the entry-count limits.
const (
	maxName        = 256  // user names, recipients, places, queries
	maxMessageText = 4096 // a messaging message
	maxMailText    = 8192 // a mail body
)

func checkField(name, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return fmt.Errorf("%s: required", name)
	case len(v) > max:
		return fmt.Errorf("%s: longer than %d bytes", name, max)
	case !utf8.ValidString(v):
		return fmt.Errorf("%s: not valid UTF-8", name)
	}
	return nil
}

func (c *call) bad(err error) { writeError(c.w, http.StatusBadRequest, err.Error()) }

// login answers POST /{service}/login.
func (p *Platform) login(c *call) {
	var req struct {
		User     string `json:"user"`
		Password string `json:"password"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		c.bad(err)
		return
	}
	if err := checkField("user", req.User, false, maxName); err != nil {
		c.bad(err)
		return
	}
	if req.User == "" || req.Password == "" {
		writeError(c.w, http.StatusUnauthorized, "user and password are required")
		return
	}
	tok := newToken()
	p.mu.Lock()
	p.tokens.put(tok, session{service: c.svc, user: req.User})
	p.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]string{"token": tok})
}

// logout answers POST /{service}/logout: the caller's token is revoked.
func (p *Platform) logout(c *call) {
	tok, _ := bearer(c.r)
	p.mu.Lock()
	p.tokens.revoke(tok)
	p.mu.Unlock()
	c.w.WriteHeader(http.StatusNoContent)
}

// deleteMessage answers DELETE /messaging/messages/{id}.
func (p *Platform) deleteMessage(c *call) {
	p.mu.Lock()
	ok := p.messaging.remove(c.user, c.r.PathValue("id"))
	p.mu.Unlock()
	if !ok {
		writeError(c.w, http.StatusNotFound, "no such message")
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// sendMessage answers POST /messaging/messages.
func (p *Platform) sendMessage(c *call) {
	var req struct {
		To   string `json:"to"`
		Text string `json:"text"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		c.bad(err)
		return
	}
	if err := firstErr(checkField("to", req.To, true, maxName), checkField("text", req.Text, false, maxMessageText)); err != nil {
		c.bad(err)
		return
	}
	m, delivered := p.deliver(p.messaging, "m-", c, req.To, message{From: c.user, Text: req.Text, At: c.now})
	if delivered {
		p.pushMessage(c, req.To, m)
	}
	writeJSON(c.w, http.StatusCreated, map[string]string{"id": m.ID})
}

// sendMail answers POST /mail/messages.
func (p *Platform) sendMail(c *call) {
	var req struct {
		To      string `json:"to"`
		Subject string `json:"subject"`
		Text    string `json:"text"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		c.bad(err)
		return
	}
	if err := firstErr(checkField("to", req.To, true, maxName), checkField("subject", req.Subject, false, maxName),
		checkField("text", req.Text, false, maxMailText)); err != nil {
		c.bad(err)
		return
	}
	m, _ := p.deliver(p.mail, "mail-", c, req.To, message{From: c.user, Subject: req.Subject, Text: req.Text, At: c.now})
	writeJSON(c.w, http.StatusCreated, map[string]string{"id": m.ID})
}

// deliver accepts m into box (delivering it unless the call is dropped) and
// returns it with its id, and whether it was delivered.
func (p *Platform) deliver(box *mailbox, prefix string, c *call, to string, m message) (message, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	m.ID = newID(prefix, c.svc, c.user, c.now, c.body, func(id string) bool {
		_, ok := box.sent.get(id)
		return ok
	})
	box.accept(to, m, !c.drop)
	return m, !c.drop
}

func (p *Platform) inboxMessaging(c *call) { p.inbox(p.messaging, c) }
func (p *Platform) inboxMail(c *call)      { p.inbox(p.mail, c) }

// inbox answers GET /{messaging,mail}/inbox?after=ID.
func (p *Platform) inbox(box *mailbox, c *call) {
	after := c.r.URL.Query().Get("after")
	p.mu.Lock()
	msgs := box.inbox(c.user, after)
	p.mu.Unlock()
	writeJSON(c.w, http.StatusOK, map[string]any{"messages": msgs})
}

// upload answers POST /messaging/media and /mail/attachments. The bytes are
// counted, not kept.
func (p *Platform) upload(c *call) {
	if len(c.body) == 0 {
		c.bad(fmt.Errorf("empty upload: send the bytes as the request body"))
		return
	}
	p.mu.Lock()
	p.uploads++
	p.mu.Unlock()
	id := newID("u-", c.svc, c.user, c.now, c.body, func(string) bool { return false })
	writeJSON(c.w, http.StatusCreated, map[string]any{"id": id, "bytes": len(c.body)})
}

// sendTransfer answers POST /payments/transfers.
func (p *Platform) sendTransfer(c *call) {
	var req struct {
		To          string  `json:"to"`
		Amount      float64 `json:"amount"`
		CallbackURL string  `json:"callback_url"`
	}
	if err := decodeJSON(c.body, &req); err != nil {
		c.bad(err)
		return
	}
	if err := checkField("to", req.To, true, maxName); err != nil {
		c.bad(err)
		return
	}
	if req.CallbackURL != "" {
		if err := p.checkCallbackURL(req.CallbackURL); err != nil {
			c.bad(err)
			return
		}
	}
	if !(req.Amount > 0 && req.Amount <= 1e12) || math.IsInf(req.Amount, 0) {
		c.bad(fmt.Errorf("amount: must be above 0 and at most 1e12"))
		return
	}
	p.mu.Lock()
	id := newID("t-", c.svc, c.user, c.now, c.body, func(id string) bool {
		_, ok := p.transfers.get(id)
		return ok
	})
	t := &transfer{ID: id, From: c.user, To: req.To, Amount: req.Amount, At: c.now, Settled: !c.drop}
	p.transfers.put(id, t)
	tc := *t
	p.mu.Unlock()
	if tc.Settled {
		p.settled(c, tc, req.CallbackURL)
	}
	writeJSON(c.w, http.StatusCreated, map[string]string{"id": id})
}

// transferOf returns a copy of the caller's transfer with the path's id.
func (p *Platform) transferOf(c *call) (transfer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.transfers.get(c.r.PathValue("id"))
	if !ok || t.From != c.user {
		writeError(c.w, http.StatusNotFound, "no such transfer")
		return transfer{}, false
	}
	return *t, true
}

func (t *transfer) status() string {
	if t.Settled {
		return "settled"
	}
	return "pending"
}

// getTransfer answers GET /payments/transfers/{id}.
func (p *Platform) getTransfer(c *call) {
	t, ok := p.transferOf(c)
	if !ok {
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"id": t.ID, "status": t.status(), "to": t.To, "amount": t.Amount})
}

// getReceipt answers GET /payments/receipts/{id}; id is the transfer's.
func (p *Platform) getReceipt(c *call) {
	t, ok := p.transferOf(c)
	if !ok {
		return
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"id": "r-" + t.ID, "transfer_id": t.ID, "from": t.From, "to": t.To,
		"amount": t.Amount, "status": t.status(), "at": t.At,
	})
}

// search answers GET /maps/search?q=.
func (p *Platform) search(c *call) {
	q := c.r.URL.Query().Get("q")
	if err := checkField("q", q, true, maxName); err != nil {
		c.bad(err)
		return
	}
	lat, lon := place(q)
	writeJSON(c.w, http.StatusOK, map[string]any{
		"query": q,
		"results": []map[string]any{
			{"name": q, "lat": lat, "lon": lon},
			{"name": q + " Station", "lat": lat + 0.002, "lon": lon - 0.001},
		},
	})
}

// route answers GET /maps/route?from=&to=.
func (p *Platform) route(c *call) {
	q := c.r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if err := firstErr(checkField("from", from, true, maxName), checkField("to", to, true, maxName)); err != nil {
		c.bad(err)
		return
	}
	la1, lo1 := place(from)
	la2, lo2 := place(to)
	// Equirectangular distance: good enough within a city.
	dx := (lo2 - lo1) * math.Cos((la1+la2)/2*math.Pi/180) * 111320
	dy := (la2 - la1) * 110540
	dist := math.Round(math.Hypot(dx, dy))
	writeJSON(c.w, http.StatusOK, map[string]any{
		"from": from, "to": to, "distance_m": dist, "duration_s": math.Round(dist / 8.3), // ~30 km/h
	})
}

// place puts a name at a stable point around Seoul.
func place(name string) (lat, lon float64) {
	h := fnv.New64a()
	h.Write([]byte(name))
	v := h.Sum64()
	return 37.45 + float64(v%20000)/100000, 126.85 + float64((v>>20)%30000)/100000
}

// getTile answers GET /maps/tiles/{z}/{x}/{y}.png.
func (p *Platform) getTile(c *call) {
	ys, ok := strings.CutSuffix(c.r.PathValue("y"), ".png")
	if !ok {
		writeError(c.w, http.StatusNotFound, "tiles are /maps/tiles/{z}/{x}/{y}.png")
		return
	}
	z, ez := strconv.Atoi(c.r.PathValue("z"))
	x, ex := strconv.Atoi(c.r.PathValue("x"))
	y, ey := strconv.Atoi(ys)
	if ez != nil || ex != nil || ey != nil || z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		c.bad(fmt.Errorf("tile: want 0 <= z <= 22 and 0 <= x, y < 2^z"))
		return
	}
	c.w.Header().Set("Content-Type", "image/png")
	c.w.Header().Set("Content-Length", strconv.Itoa(len(p.tile)))
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(p.tile)
}

// sendRide answers POST /mobility/rides; an empty body asks for a ride
// without a stated route.
func (p *Platform) sendRide(c *call) {
	var req struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if err := decodeJSON(c.body, &req); err != nil {
			c.bad(err)
			return
		}
	}
	if err := firstErr(checkField("from", req.From, false, maxName), checkField("to", req.To, false, maxName)); err != nil {
		c.bad(err)
		return
	}
	p.mu.Lock()
	id := newID("ride-", c.svc, c.user, c.now, c.body, func(id string) bool {
		_, ok := p.rides.get(id)
		return ok
	})
	p.rides.put(id, &ride{ID: id, User: c.user, From: req.From, To: req.To, At: c.now, Matched: !c.drop})
	p.mu.Unlock()
	writeJSON(c.w, http.StatusCreated, map[string]string{"id": id})
}

// getRide answers GET /mobility/rides/{id}.
func (p *Platform) getRide(c *call) {
	p.mu.Lock()
	r, ok := p.rides.get(c.r.PathValue("id"))
	var rd ride
	if ok {
		rd = *r
	}
	p.mu.Unlock()
	if !ok || rd.User != c.user {
		writeError(c.w, http.StatusNotFound, "no such ride")
		return
	}
	out := map[string]any{"id": rd.ID, "status": "searching", "from": rd.From, "to": rd.To}
	if rd.Matched {
		out["status"] = "matched"
		out["driver"] = "demo-driver-" + rd.ID[len(rd.ID)-4:]
	}
	writeJSON(c.w, http.StatusOK, out)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
