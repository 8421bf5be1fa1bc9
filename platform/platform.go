package platform

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
)

// Options configure a Platform. The zero value is usable.
type Options struct {
	// Clock decides whether timeline and live faults are active when a
	// request carries no clock of its own (clock.NewContext); default
	// clock.Real{}.
	Clock clock.Clock
	// Timelines are fault schedules: every incident becomes a fault.
	Timelines []*config.Timeline
	// Logger receives fault changes (info) and injected faults (debug);
	// default: discard.
	Logger *slog.Logger
	// AllowRemoteAdmin lets non-loopback clients use /_admin; default false.
	AllowRemoteAdmin bool
	// Limits bound the in-memory state; zero fields take the defaults.
	Limits Limits
	// WebhookSecret keys the HMAC-SHA256 signature of payment callbacks;
	// default DefaultWebhookSecret.
	WebhookSecret []byte
	// Callbacks carries payment callbacks; default: an HTTP transport that
	// calls loopback addresses only (any address with
	// AllowRemoteCallbacks). The demo passes HandlerTransport of the
	// prober's webhook listener.
	Callbacks http.RoundTripper
	// AllowRemoteCallbacks lets a transfer's callback_url name a host that
	// is not loopback; default false.
	AllowRemoteCallbacks bool
}

// Limits bound the platform's in-memory state. Past a bound the oldest
// entries are evicted. Zero fields take the defaults shown.
type Limits struct {
	Tokens        int   // live bearer tokens, all services together; default 10000
	UserTokens    int   // live bearer tokens per user of one service; default 100
	Messages      int   // messages kept per service (messaging, mail), all inboxes together; default 10000
	InboxMessages int   // messages kept per inbox; default 1000
	Transfers     int   // payment transfers; default 10000
	Rides         int   // taxi rides; default 10000
	Faults        int   // live (admin) faults; default 1000
	Streams       int   // open WebSocket and event streams; default 1000
	BodyBytes     int64 // largest request body; default 1 MiB
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Tokens, 10000)
	def(&l.UserTokens, 100)
	def(&l.Messages, 10000)
	def(&l.InboxMessages, 1000)
	def(&l.Transfers, 10000)
	def(&l.Rides, 10000)
	def(&l.Faults, 1000)
	def(&l.Streams, 1000)
	if l.BodyBytes <= 0 {
		l.BodyBytes = 1 << 20
	}
	return l
}

// Platform is the demo platform. It is an http.Handler and safe for
// concurrent use.
type Platform struct {
	clock       clock.Clock
	log         *slog.Logger
	limits      Limits
	remoteAdmin bool
	mux         *http.ServeMux
	tile        []byte // the PNG every tile request gets

	fmu      sync.RWMutex
	faults   []Fault
	faultSeq uint64

	mu        sync.Mutex
	tokens    *tokenStore
	messaging *mailbox
	mail      *mailbox
	transfers *fifo[string, *transfer]
	rides     *fifo[string, *ride]
	uploads   uint64

	hub             *hub
	callbacks       http.RoundTripper
	webhookSecret   []byte
	remoteCallbacks bool
	callbacksOK     atomic.Uint64
	callbacksFailed atomic.Uint64
}

// New returns a platform with the timelines' incidents scheduled as faults.
func New(opts Options) *Platform {
	p := &Platform{
		clock:       opts.Clock,
		log:         opts.Logger,
		limits:      opts.Limits.withDefaults(),
		remoteAdmin: opts.AllowRemoteAdmin,
		mux:         http.NewServeMux(),
	}
	if p.clock == nil {
		p.clock = clock.Real{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.tokens = newTokenStore(p.limits.Tokens, p.limits.UserTokens)
	p.messaging = newMailbox(p.limits.InboxMessages, p.limits.Messages)
	p.mail = newMailbox(p.limits.InboxMessages, p.limits.Messages)
	p.transfers = newFIFO[string, *transfer](p.limits.Transfers)
	p.rides = newFIFO[string, *ride](p.limits.Rides)
	p.tile = makeTile()
	p.faults = timelineFaults(opts.Timelines, p.log)
	p.hub = newHub(p.limits.Streams)
	p.remoteCallbacks = opts.AllowRemoteCallbacks
	p.callbacks = opts.Callbacks
	if p.callbacks == nil {
		p.callbacks = defaultCallbacks(opts.AllowRemoteCallbacks)
	}
	p.webhookSecret = bytes.Clone(opts.WebhookSecret)
	if len(p.webhookSecret) == 0 {
		p.webhookSecret = []byte(DefaultWebhookSecret)
	}
	p.routes()
	return p
}

// makeTile renders the one 256x256 map tile the platform serves.
func makeTile() []byte {
	img := image.NewPaletted(image.Rect(0, 0, 256, 256), color.Palette{
		color.RGBA{0xf2, 0xef, 0xe9, 0xff}, // land
		color.RGBA{0xaa, 0xd3, 0xdf, 0xff}, // water
		color.RGBA{0xff, 0xff, 0xff, 0xff}, // road
	})
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			switch {
			case x%64 < 4 || y%64 < 4:
				img.SetColorIndex(x, y, 2)
			case x+y > 380:
				img.SetColorIndex(x, y, 1)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic("platform: encoding the tile: " + err.Error()) // cannot happen with an in-memory image
	}
	return b.Bytes()
}

// endpoint is one row of the catalogue.
type endpoint struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Service  string `json:"-"`
	Function string `json:"function"`
	Auth     bool   `json:"auth"`
	Doc      string `json:"doc"`
	h        func(*call)
}

// serviceNames returns the platform's services, in catalogue order.
func serviceNames() []string {
	return []string{"account", "messaging", "payments", "maps", "mobility", "mail"}
}

// functionsOf returns the functions of service, and whether it exists.
func functionsOf(service string) ([]string, bool) {
	switch service {
	case "account":
		return []string{"login"}, true
	case "messaging":
		return []string{"login", "send", "receive", "media"}, true
	case "payments":
		return []string{"login", "send", "receive", "receipt"}, true
	case "maps":
		return []string{"login", "search", "route", "tile"}, true
	case "mobility":
		return []string{"login", "send", "receive"}, true
	case "mail":
		return []string{"login", "send", "receive", "attachments"}, true
	}
	return nil, false
}

func (p *Platform) endpoints() []endpoint {
	var eps []endpoint
	for _, s := range serviceNames() {
		eps = append(eps, endpoint{"POST", "/" + s + "/login", s, "login", false,
			`{"user","password"} -> {"token"}`, p.login})
		eps = append(eps, endpoint{"POST", "/" + s + "/logout", s, "login", true,
			`-> 204; the bearer token stops working`, p.logout})
	}
	eps = append(eps,
		endpoint{"POST", "/messaging/messages", "messaging", "send", true, `{"to","text"} -> 201 {"id"}`, p.sendMessage},
		endpoint{"DELETE", "/messaging/messages/{id}", "messaging", "send", true, `-> 204; the sender or the recipient deletes a message from the recipient's inbox`, p.deleteMessage},
		endpoint{"GET", "/messaging/inbox", "messaging", "receive", true, `?after=ID -> {"messages":[{"id","from","text","at"}]}`, p.inboxMessaging},
		endpoint{"GET", "/messaging/ws", "messaging", "receive", true, `WebSocket: one JSON text frame {"type":"message","id","from","text","at"} per message delivered`, p.streamWS},
		endpoint{"GET", "/messaging/events", "messaging", "receive", true, `text/event-stream: one "message" event (id: the message id, data: {"type":"message","id","from","text","at"}) per message delivered`, p.streamSSE},
		endpoint{"POST", "/messaging/media", "messaging", "media", true, `bytes -> 201 {"id","bytes"}`, p.upload},
		endpoint{"POST", "/payments/transfers", "payments", "send", true, `{"to","amount","callback_url"?} -> 201 {"id"}; on settlement POST callback_url {"type":"transfer.settled",...} signed X-Signature: sha256=HMAC-SHA256(body)`, p.sendTransfer},
		endpoint{"GET", "/payments/transfers/{id}", "payments", "receive", true, `-> {"id","status":"pending|settled"}`, p.getTransfer},
		endpoint{"GET", "/payments/receipts/{id}", "payments", "receipt", true, `-> {"id","transfer_id","to","amount","status","at"}`, p.getReceipt},
		endpoint{"GET", "/maps/search", "maps", "search", false, `?q= -> {"query","results":[{"name","lat","lon"}]}`, p.search},
		endpoint{"GET", "/maps/route", "maps", "route", false, `?from=&to= -> {"from","to","distance_m","duration_s"}`, p.route},
		endpoint{"GET", "/maps/tiles/{z}/{x}/{y}", "maps", "tile", false, `{y} is "N.png" -> image/png`, p.getTile},
		endpoint{"POST", "/mobility/rides", "mobility", "send", true, `{"from","to"} -> 201 {"id"}`, p.sendRide},
		endpoint{"GET", "/mobility/rides/{id}", "mobility", "receive", true, `-> {"id","status":"searching|matched"}`, p.getRide},
		endpoint{"POST", "/mail/messages", "mail", "send", true, `{"to","subject","text"} -> 201 {"id"}`, p.sendMail},
		endpoint{"GET", "/mail/inbox", "mail", "receive", true, `?after=ID -> {"messages":[{"id","from","subject","text","at"}]}`, p.inboxMail},
		endpoint{"POST", "/mail/attachments", "mail", "attachments", true, `bytes -> 201 {"id","bytes"}`, p.upload},
	)
	return eps
}

func (p *Platform) routes() {
	eps := p.endpoints()
	for _, ep := range eps {
		p.mux.Handle(ep.Method+" "+ep.Path, p.wrap(ep))
	}
	cat := catalogue(eps)
	p.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, cat)
	})
	p.mux.HandleFunc("POST /_admin/faults", p.admin(p.adminAdd))
	p.mux.HandleFunc("GET /_admin/faults", p.admin(p.adminList))
	p.mux.HandleFunc("DELETE /_admin/faults", p.admin(p.adminClear))
	p.mux.HandleFunc("DELETE /_admin/faults/{id}", p.admin(p.adminRemove))
}

type catalogueService struct {
	Name      string     `json:"name"`
	Functions []string   `json:"functions"`
	Endpoints []endpoint `json:"endpoints"`
}

func catalogue(eps []endpoint) any {
	var svcs []catalogueService
	for _, s := range serviceNames() {
		fns, _ := functionsOf(s)
		cs := catalogueService{Name: s, Functions: fns}
		for _, ep := range eps {
			if ep.Service == s {
				cs.Endpoints = append(cs.Endpoints, ep)
			}
		}
		svcs = append(svcs, cs)
	}
	return map[string]any{
		"name":     "slaprobe demo platform",
		"auth":     "POST /{service}/login, then Authorization: Bearer {token}; maps reads are public",
		"services": svcs,
		"admin": []string{
			"POST /_admin/faults {service, functions, mode, rate, latency, duration} -> 201 {id}",
			"GET /_admin/faults",
			"DELETE /_admin/faults",
			"DELETE /_admin/faults/{id}",
		},
	}
}

// downKey marks a request's context with the *bool the fault layer sets when
// the service is down, so that the caller (ServeHTTP or Transport) can fail
// the connection instead of answering.
type downKey struct{}

// ServeHTTP serves the platform. A request hit by a down fault gets no HTTP
// answer: its connection is hijacked and reset.
func (p *Platform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var down bool
	r = r.WithContext(context.WithValue(r.Context(), downKey{}, &down))
	p.mux.ServeHTTP(w, r)
	if !down {
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if r.ProtoMajor >= 2 {
			panic(http.ErrAbortHandler) // resets the stream
		}
		// Not a real connection (a ResponseRecorder): say it in HTTP.
		writeError(w, http.StatusServiceUnavailable, "connection refused (service down)")
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST: "connection reset by peer"
	}
	_ = conn.Close()
}

// call is one request on its way through an endpoint.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	now  time.Time // the request's (virtual) time
	body []byte
	user string // the token's user, for endpoints that need one
	drop bool   // a drop fault covers this send
	svc  string
}

// wrap puts the fault layer and authentication around an endpoint.
func (p *Platform) wrap(ep endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		clk := clock.FromContext(ctx, p.clock)
		now := clk.Now()
		body, err := io.ReadAll(io.LimitReader(r.Body, p.limits.BodyBytes+1))
		if err != nil {
			writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
			return
		}
		if int64(len(body)) > p.limits.BodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.FormatInt(p.limits.BodyBytes, 10)+" bytes")
			return
		}
		target := r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		v := p.judge(ep.Service, ep.Function, now, sample(ep.Service, ep.Function, r.Method, target, body, now))
		if v.down != nil {
			p.log.Debug("fault: down", "fault", v.down.ID, "service", ep.Service, "function", ep.Function)
			if d, ok := ctx.Value(downKey{}).(*bool); ok {
				*d = true
				return
			}
			writeError(w, http.StatusServiceUnavailable, "connection refused (service down)")
			return
		}
		if v.latency > 0 {
			p.log.Debug("fault: slow", "service", ep.Service, "function", ep.Function, "latency", v.latency)
			if err := clk.Sleep(ctx, v.latency); err != nil {
				return // the client went away
			}
			now = clk.Now()
		}
		if v.err != nil {
			p.log.Debug("fault: error", "fault", v.err.ID, "service", ep.Service, "function", ep.Function)
			writeError(w, http.StatusServiceUnavailable, ep.Service+" "+ep.Function+": service unavailable")
			return
		}
		c := &call{w: w, r: r, now: now, body: body, drop: v.drop != nil, svc: ep.Service}
		if v.drop != nil {
			p.log.Debug("fault: drop", "fault", v.drop.ID, "service", ep.Service, "function", ep.Function)
		}
		if ep.Auth {
			user, ok := p.authenticate(r, ep.Service)
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="`+ep.Service+`"`)
				writeError(w, http.StatusUnauthorized, "missing or invalid bearer token for "+ep.Service+" (POST /"+ep.Service+"/login)")
				return
			}
			c.user = user
		}
		ep.h(c)
	})
}

// authenticate returns the user of the request's bearer token, when it is a
// live token of service.
func (p *Platform) authenticate(r *http.Request, service string) (string, bool) {
	tok, ok := bearer(r)
	if !ok {
		return "", false
	}
	p.mu.Lock()
	s, ok := p.tokens.get(tok)
	p.mu.Unlock()
	if !ok || s.service != service || s.revoked {
		return "", false
	}
	return s.user, true
}

// bearer returns the request's bearer token.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// newToken returns a random bearer token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// newID returns a deterministic id for something sent: a hash of the
// service, the sender, the virtual time and the body, so that a replay issues
// the same ids (they appear in later paths, which seed rate faults). taken
// reports ids already in use; a clash gets a numeric suffix.
func newID(prefix, service, user string, now time.Time, body []byte, taken func(string) bool) string {
	h := fnv.New64a()
	h.Write([]byte(service))
	h.Write([]byte{0})
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(now.UnixNano(), 10)))
	h.Write([]byte{0})
	h.Write(body)
	id := prefix + strconv.FormatUint(h.Sum64(), 16)
	for i := 2; taken(id); i++ {
		id = prefix + strconv.FormatUint(h.Sum64(), 16) + "-" + strconv.Itoa(i)
	}
	return id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// decodeJSON decodes a JSON object body into v.
func decodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return errors.New("empty body: want a JSON object")
	}
	if body[0] != '{' {
		return errors.New("body is not a JSON object")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errors.New("invalid JSON: " + err.Error())
	}
	return nil
}
