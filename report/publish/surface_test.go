package publish

// Report delivery as an attack surface and under failure (review-surface):
// redirects, secrets in URLs and answers, hostile and hanging receivers,
// crashes at every step, and archive paths.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/pgtest"
	"github.com/slaprobe/slaprobe/store"
)

// surface is a publisher over October 2022's data with real channels from
// cfg (webhooks and e-mail as configured), its store, clock and log.
type surface struct {
	cfg *config.Config
	st  Store
	clk *clock.Manual
	log *syncBuf
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func sqliteStore(t *testing.T) Store {
	t.Helper()
	dir, err := os.MkdirTemp("", "publish-") // t.TempDir has a '#' in fuzz seeds, which the SQLite path refuses
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		os.RemoveAll(dir)
	})
	return s
}

func postgresStore(t *testing.T) Store {
	t.Helper()
	s, err := store.OpenPostgres(context.Background(), pgtest.DSN(t), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newSurface fills st with October 2022 and makes a config whose reports
// are delivered as edit says.
func newSurface(t *testing.T, st Store, edit func(cfg *config.Config)) *surface {
	t.Helper()
	cfg := testConfig(filepath.Join(t.TempDir(), "reports"))
	cfg.Reports.Backfill = 1
	cfg.Secrets = map[string]string{}
	if edit != nil {
		edit(cfg)
	}
	oct := time.Date(2022, 10, 1, 0, 0, 0, 0, cfg.Loc)
	fill(t, st, oct, oct.Add(48*time.Hour))
	return &surface{cfg: cfg, st: st, clk: clock.NewManual(time.Date(2022, 11, 1, 0, 10, 0, 0, cfg.Loc)), log: &syncBuf{}}
}

func (s *surface) publisher(t *testing.T, opts Options) *Publisher {
	t.Helper()
	opts.Store, opts.Clock = s.st, s.clk
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(s.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := New(s.cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// makeAndDeliver makes the due months and attempts their deliveries once.
func makeAndDeliver(t *testing.T, p *Publisher) {
	t.Helper()
	ctx := context.Background()
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
}

// everything is all a delivery leaves behind: the records and the log.
func (s *surface) everything(t *testing.T) string {
	t.Helper()
	ds, err := s.st.Deliveries(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range ds {
		fmt.Fprintf(&b, "%s %s %s %s\n", d.Channel, d.Target, d.State, d.Result)
	}
	b.WriteString(s.log.String())
	return b.String()
}

// TestWebhookRedirectIsNotFollowed: a receiver that redirects (a moved
// endpoint, or one that wants the report elsewhere) gets a failed attempt;
// the report and the configured credential headers never go to the other
// host (Go's client forwards every header but Authorization and Cookie, and
// resends the body on 307/308).
func TestWebhookRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	var leaked atomic.Value
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		leaked.Store(r.Header.Get("X-Api-Key") + " " + r.Header.Get("Authorization"))
		io.Copy(io.Discard, r.Body)
	}))
	defer b.Close()
	for _, code := range []int{301, 302, 303, 307, 308} {
		a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, b.URL+"/collect", code)
		}))
		s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
			cfg.Secrets["env:HOOK_KEY"] = "key-SECRETKEY-1"
			cfg.Reports.Webhooks = []config.Webhook{{URL: a.URL + "/hook", Headers: map[string]string{
				"X-Api-Key": "${env:HOOK_KEY}", "Authorization": "Bearer ${env:HOOK_KEY}"}}}
		})
		p := s.publisher(t, Options{})
		ctx := context.Background()
		makeAndDeliver(t, p)
		a.Close()
		ds, _ := s.st.Deliveries(ctx, "")
		if len(ds) != 1 || ds[0].State == store.DeliveryDelivered || !strings.Contains(ds[0].Result, fmt.Sprint(code)) {
			t.Errorf("%d: delivery %+v, want a failed attempt that names the %d", code, ds, code)
		}
	}
	if n := elsewhere.Load(); n > 0 {
		t.Errorf("the redirect target got %d requests (headers %q)", n, leaked.Load())
	}
}

// TestWebhookURLSecretsStayOut: a webhook URL's password and query values
// (a token in the URL, as many receivers want it) reach neither the
// delivery records nor the log, also when the receiver's error answer
// echoes them; a URL kept whole in ${env:NAME} is a secret like any other.
func TestWebhookURLSecretsStayOut(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "no thanks %s %s %s %s", r.URL.String(), u, p, r.URL.Query().Get("token"))
	}))
	defer echo.Close()
	host := strings.TrimPrefix(echo.URL, "http://")
	s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
		cfg.Secrets["env:HOOK_URL"] = echo.URL + "/services/T0/B0/SECRETPATH3?sig=SECRETSIG3"
		cfg.Reports.Webhooks = []config.Webhook{
			{URL: "http://hookuser:SECRETPW1@" + host + "/hook?token=SECRETQ1&mode=x"},
			{URL: "${env:HOOK_URL}"},
		}
	})
	p := s.publisher(t, Options{})
	ctx := context.Background()
	makeAndDeliver(t, p)
	all := s.everything(t)
	t.Logf("records and log:\n%s", all)
	for _, bad := range []string{"SECRETPW1", "SECRETQ1", "SECRETPATH3", "SECRETSIG3"} {
		if strings.Contains(all, bad) {
			t.Errorf("%s reached the records or the log:\n%s", bad, all)
		}
	}
	ds, _ := s.st.Deliveries(ctx, "")
	if len(ds) != 2 || ds[0].Target == ds[1].Target || !strings.Contains(ds[0].Result, "502") {
		t.Errorf("deliveries %+v: want two targets told apart, each a failed attempt with the receiver's status", ds)
	}
}

// TestDeliveryRecordsTakeAnyAnswer: a receiver answering with NUL bytes,
// invalid UTF-8 and terminal escapes still gets its attempt recorded (on
// PostgreSQL too, whose text columns refuse such bytes), so the retries
// stay bounded by reports.retry.attempts and spaced by the backoff, rather
// than one unrecorded attempt every poll for ever.
func TestDeliveryRecordsTakeAnyAnswer(t *testing.T) {
	for _, db := range []struct {
		name string
		open func(*testing.T) Store
	}{{"sqlite", sqliteStore}, {"postgres", postgresStore}} {
		t.Run(db.name, func(t *testing.T) {
			var hits atomic.Int32
			hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte("bad\x00\xff\xfe\x1b[31mred\r\nX-Injected: 1\u202e"))
			}))
			defer hostile.Close()
			s := newSurface(t, db.open(t), func(cfg *config.Config) {
				cfg.Reports.Webhooks = []config.Webhook{{URL: hostile.URL}}
				cfg.Reports.Retry = config.Retry{Attempts: 3, Backoff: time.Minute, MaxBackoff: time.Minute}
			})
			p := s.publisher(t, Options{})
			ctx := context.Background()
			if err := p.Cycle(ctx); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 20; i++ { // 20 polls over 10 minutes
				p.DeliverDue(ctx) //nolint:errcheck // judged by the records
				s.clk.Advance(30 * time.Second)
			}
			ds, err := s.st.Deliveries(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			if n := hits.Load(); n != 3 || len(ds) != 1 || ds[0].State != store.DeliveryFailed || ds[0].Attempts != 3 {
				t.Fatalf("%d requests, deliveries %+v: want 3 attempts, then failed", n, ds)
			}
			r := ds[0].Result
			if !utf8.ValidString(r) || strings.ContainsFunc(r, func(c rune) bool { return unicode.IsControl(c) || c == '\u202e' }) {
				t.Errorf("result %q holds control characters or invalid UTF-8", r)
			}
			if !strings.Contains(r, "500") || !strings.Contains(r, "bad") {
				t.Errorf("result %q does not say what the receiver answered", r)
			}
		})
	}
}

// TestDeliveryBoundedByTimeout: receivers that hang (accept and never
// answer, answer headers and trickle the body, an SMTP server that never
// greets or stops after EHLO), answer a huge body, or present a
// certificate nobody trusts each cost one bounded attempt, recorded.
func TestDeliveryBoundedByTimeout(t *testing.T) {
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-stop:
				return
			case <-r.Context().Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}))
	defer trickle.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		chunk := bytes.Repeat([]byte("A"), 1<<16)
		for i := 0; i < 16<<10; i++ { // 1 GiB unless the client hangs up
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer huge.Close()
	badTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer badTLS.Close()
	silent := tcpServer(t, stop, nil)
	mute := tcpServer(t, stop, func(c net.Conn) {
		fmt.Fprint(c, "220 mute.example ESMTP\r\n")
		buf := make([]byte, 512)
		c.Read(buf) //nolint:errcheck // EHLO: never answered
		<-stop
	})
	defer close(stop) // first: the servers' Close waits for their handlers
	const timeout = time.Second
	s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
		cfg.Reports.Webhooks = []config.Webhook{{URL: hang.URL + "/h"}, {URL: trickle.URL + "/t"}, {URL: huge.URL + "/g"}, {URL: badTLS.URL + "/s"}}
	})
	emails := []*config.Email{
		{Server: silent, From: "a@example.com", To: []string{"silent@example.com"}, TLS: "none"},
		{Server: mute, From: "a@example.com", To: []string{"mute@example.com"}, TLS: "starttls"},
	}
	p := s.publisher(t, Options{AttemptTimeout: timeout, Channels: func(cfg *config.Config) []Channel {
		out := Channels(cfg)
		for _, e := range emails {
			out = append(out, newEmail(cfg, e, timeout))
		}
		return out
	}})
	ctx := context.Background()
	if err := p.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := p.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	ds, _ := s.st.Deliveries(ctx, "")
	if len(ds) != 6 {
		t.Fatalf("%d deliveries, want 6", len(ds))
	}
	for _, d := range ds {
		if d.State == store.DeliveryDelivered || d.Attempts != 1 || d.Result == "" || len(d.Result) > 1024 {
			t.Errorf("%s %s: %s after %d attempts, result %.100q: want one failed attempt, recorded", d.Channel, d.Target, d.State, d.Attempts, d.Result)
		}
	}
	// Six attempts, at most one timeout each (plus slack for a loaded
	// machine); a hang would be the 2-minute default or for ever.
	if took > 6*timeout+20*time.Second {
		t.Errorf("six bounded attempts took %s", took)
	}
	t.Logf("6 failing deliveries recorded in %s", took.Round(time.Millisecond))
}

// tcpServer accepts on loopback and hands each connection to serve (nil:
// hold it open, silent, until stop).
func tcpServer(t *testing.T, stop chan struct{}, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		<-stop
		ln.Close()
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if serve != nil {
					serve(c)
					return
				}
				<-stop
			}()
		}
	}()
	return ln.Addr().String()
}

// crashStore fails one method once, after letting fail decide: a process
// that dies at that point (what it did before is kept, nothing after).
type crashStore struct {
	Store
	mu    sync.Mutex
	crash func(method string) bool
}

var errCrash = errors.New("crash")

func (c *crashStore) hit(m string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crash != nil && c.crash(m) {
		c.crash = nil
		return true
	}
	return false
}

func (c *crashStore) AddReportVersion(ctx context.Context, v store.ReportVersion, ds []store.Delivery) error {
	if c.hit("AddReportVersion") {
		return errCrash
	}
	return c.Store.AddReportVersion(ctx, v, ds)
}

func (c *crashStore) PendingDeliveries(ctx context.Context) ([]store.Delivery, error) {
	if c.hit("PendingDeliveries") {
		return nil, errCrash
	}
	return c.Store.PendingDeliveries(ctx)
}

func (c *crashStore) UpdateDelivery(ctx context.Context, d store.Delivery) error {
	if c.hit("UpdateDelivery:" + d.State) {
		return errCrash
	}
	return c.Store.UpdateDelivery(ctx, d)
}

// TestExactlyOnceAcrossCrashes: a publisher that dies at each step (the
// files made but the version not recorded; recorded but not delivered; a
// failed attempt not recorded; delivered but not recorded) and a new one
// started on the same store and archive: one version, each receiver gets
// the report once, except the one attempt a crash interrupted after the
// receiver had it, which comes again with the same Idempotency-Key.
func TestExactlyOnceAcrossCrashes(t *testing.T) {
	for _, tc := range []struct {
		crashAt string
		// the receiver fails this many times first
		failures int
		// requests the receiver gets with the same key
		wantRequests int
	}{
		{"AddReportVersion", 0, 1},
		{"PendingDeliveries", 0, 1},
		{"UpdateDelivery:pending", 1, 2}, // a failed attempt, not recorded: tried again
		{"UpdateDelivery:delivered", 0, 2},
	} {
		t.Run(tc.crashAt, func(t *testing.T) {
			var mu sync.Mutex
			keys := map[string]int{}
			var n int
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				defer mu.Unlock()
				n++
				keys[r.Header.Get("Idempotency-Key")]++
				if n <= tc.failures {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
			defer recv.Close()
			cs := &crashStore{Store: sqliteStore(t)}
			s := newSurface(t, cs, func(cfg *config.Config) {
				cfg.Reports.Webhooks = []config.Webhook{{URL: recv.URL}}
				cfg.Reports.Retry = config.Retry{Attempts: 5, Backoff: time.Second, MaxBackoff: time.Second}
			})
			cs.crash = func(m string) bool { return m == tc.crashAt }
			ctx := context.Background()
			p := s.publisher(t, Options{})
			p.Cycle(ctx)      //nolint:errcheck // the crash
			p.DeliverDue(ctx) //nolint:errcheck
			// A new process on the same store and archive.
			p = s.publisher(t, Options{})
			for i := 0; i < 5; i++ {
				if err := p.Cycle(ctx); err != nil {
					t.Fatal(err)
				}
				if err := p.DeliverDue(ctx); err != nil {
					t.Fatal(err)
				}
				s.clk.Advance(2 * time.Second)
			}
			if cs.crash != nil {
				t.Fatalf("never crashed at %s", tc.crashAt)
			}
			vs, _ := s.st.ReportVersions(ctx, "")
			ds, _ := s.st.Deliveries(ctx, "")
			if len(vs) != 1 || len(ds) != 1 || ds[0].State != store.DeliveryDelivered {
				t.Fatalf("versions %+v deliveries %+v: want one version, delivered", vs, ds)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(keys) != 1 || n != tc.wantRequests {
				t.Errorf("receiver got %d requests under keys %v, want %d under one key", n, keys, tc.wantRequests)
			}
		})
	}
}

// TestArchiveStaysInsideItsDirectory: a month directory in the archive
// that is a symbolic link out of it is not written through, and a
// delivery record whose files point out of the archive (a store written
// by someone else) sends nothing from outside.
func TestArchiveStaysInsideItsDirectory(t *testing.T) {
	var got atomic.Value
	got.Store("")
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(got.Load().(string) + string(b))
	}))
	defer recv.Close()
	s := newSurface(t, sqliteStore(t), func(cfg *config.Config) {
		cfg.Reports.Webhooks = []config.Webhook{{URL: recv.URL}}
	})
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("SECRETFILE"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(s.cfg.Reports.Archive, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.cfg.Reports.Archive, "2022-10")); err != nil {
		t.Fatal(err)
	}
	p := s.publisher(t, Options{})
	ctx := context.Background()
	err := p.Cycle(ctx)
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the archive wrote through a link out of it: %v (Cycle: %v)", names, err)
	}
	if err == nil {
		t.Errorf("Cycle made the month through a link out of the archive without an error")
	}
	t.Logf("Cycle: %v", err)

	// A record naming files outside the archive.
	rel, _ := filepath.Rel(s.cfg.Reports.Archive, secret)
	v := store.ReportVersion{Month: "2022-09", Version: 1, Generated: s.clk.Now(), Digest: "x",
		Files: []string{"2022-09/v1/report.json", filepath.ToSlash(rel), "../../../../../../../../" + strings.TrimPrefix(filepath.ToSlash(secret), "/")}}
	vdir := filepath.Join(s.cfg.Reports.Archive, "2022-09", "v1")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(vdir, "report.json"), []byte(`{"ok":1}`), 0o644)                  //nolint:errcheck
	os.WriteFile(filepath.Join(vdir, figuresFile), []byte(`{"title":"t","services":[]}`), 0o644) //nolint:errcheck
	if err := s.st.AddReportVersion(ctx, v, []store.Delivery{{Channel: "webhook", Target: recv.URL, Next: s.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	p.DeliverDue(ctx) //nolint:errcheck
	if strings.Contains(got.Load().(string), "SECRETFILE") {
		t.Errorf("a file outside the archive was delivered")
	}
	ds, _ := s.st.Deliveries(ctx, "2022-09")
	if len(ds) != 1 || ds[0].State == store.DeliveryDelivered || !strings.Contains(ds[0].Result, "outside") {
		t.Errorf("deliveries of the bad record %+v: want a failed attempt saying why", ds)
	}
}
