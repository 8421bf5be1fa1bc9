package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// screenshotDir is where the browser tests write their screenshots:
// $SLAPROBE_SCREENSHOTS, or out/screenshots at the top of the repository.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SLAPROBE_SCREENSHOTS")
	if dir == "" {
		abs, err := filepath.Abs("../../out/screenshots")
		if err != nil {
			t.Fatal(err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts Debian's chromium headless (as scripts/deps.sh installs
// it) with a fresh profile, and collects console errors and uncaught
// exceptions.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is needed for this test and is not on PATH: scripts/deps.sh installs it (apt-get install -y chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				errs = append(errs, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception: "+ev.ExceptionDetails.Text+" "+describe(ev.ExceptionDetails))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				errs = append(errs, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	for _, enable := range []cdp.Command[cdp.Empty, cdp.Empty]{cdplog.Enable, runtime.Enable} {
		if _, err := chromedp.Call(ctx, enable, cdp.Empty{}); err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}

func describe(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return d.Exception.Description
	}
	return ""
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(screenshotDir(t), name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// functionState reads a function's state now from the daemon's API.
func functionState(t *testing.T, listen, flow, fn string) string {
	var st struct {
		Flows []struct {
			Flow      string `json:"flow"`
			Functions []struct {
				Function, State string
			} `json:"functions"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(get(t, "http://"+listen+"/api/v1/status")), &st); err != nil {
		t.Fatal(err)
	}
	for _, f := range st.Flows {
		if f.Flow != flow {
			continue
		}
		for _, x := range f.Functions {
			if x.Function == fn {
				return x.State
			}
		}
	}
	return ""
}

func fault(t *testing.T, method, url, body string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
}

// TestStatusPageInBrowser opens the status page of a daemon probing the demo
// platform in Chromium, as a person would: no console errors; after a drop
// fault on messaging receive the page (refreshing itself in place) shows
// receive down within one refresh of the daemon knowing it, and up again
// after the fault ends; at 390 px it does not scroll sideways; with
// JavaScript off it still shows every state; the public page names no flow,
// step, URL or error.
func TestStatusPageInBrowser(t *testing.T) {
	const refresh = 2 * time.Second
	env := newDaemonEnv(t)
	public := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := env.config(t, false, fmt.Sprintf("status: {listen: %q, refresh: %s, title: Example status}\n", public, refresh))
	d := env.start(t, "daemon", cfg)
	defer d.stop(t, syscall.SIGTERM, 30*time.Second)
	eventually(t, 20*time.Second, 200*time.Millisecond, "receive up in the API", func() (bool, string) {
		s := functionState(t, env.listen, "messaging-roundtrip", "receive")
		return s == "up", s
	})

	ctx, consoleErrors := browser(t)
	page := "http://" + env.listen + "/"
	rowState := chromedp.Search(`//tr[th[normalize-space()="receive"]]/td[1]`)
	text := func() (string, error) { return chromedp.Run(ctx, chromedp.Text(rowState)) }
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#svc-messaging`)),
	); err != nil {
		t.Fatal(err)
	}
	state, err := text()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(state, "up") || !strings.Contains(state, "✓") {
		t.Fatalf("receive shows %q, want ✓ up", state)
	}
	// The month's figures follow within seconds of the first runs.
	eventually(t, 20*time.Second, 250*time.Millisecond, "this month's figures on the page", func() (bool, string) {
		figs, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#svc-messaging .figs`)))
		return err == nil && strings.Contains(figs, "This month"), figs
	})
	// A marker that a full reload would lose: refreshes must be in place.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__kept = 42`)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "status-up.png")

	fault(t, "POST", "http://"+env.plat+"/_admin/faults", `{"service":"messaging","functions":["receive"],"mode":"drop"}`)
	var downAt time.Time
	eventually(t, 30*time.Second, 100*time.Millisecond, "receive down in the API", func() (bool, string) {
		s := functionState(t, env.listen, "messaging-roundtrip", "receive")
		downAt = time.Now()
		return s == "down", s
	})
	eventually(t, refresh+2*time.Second, 100*time.Millisecond, "the page shows receive down within one refresh", func() (bool, string) {
		s, err := text()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(s, "down") && strings.Contains(s, "✕"), s
	})
	t.Logf("the page showed receive down %s after the daemon did (refresh %s)", time.Since(downAt).Round(10*time.Millisecond), refresh)
	kept, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__kept || 0`))
	if err != nil {
		t.Fatal(err)
	}
	if kept != 42 {
		t.Error("the page reloaded instead of refreshing in place")
	}
	open, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#svc-messaging .open`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(open, "receive down since") || !strings.Contains(open, "cause: step receive") {
		t.Errorf("open windows: %q", open)
	}
	shot(t, ctx, "status-down.png")

	fault(t, "DELETE", "http://"+env.plat+"/_admin/faults", "")
	eventually(t, 30*time.Second, 200*time.Millisecond, "the page shows receive up again", func() (bool, string) {
		s, err := text()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(s, "up"), s
	})

	// A phone: 390 px wide, no horizontal scroll.
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS(`#svc-messaging`)),
	); err != nil {
		t.Fatal(err)
	}
	scrollW, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	clientW, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.clientWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if clientW != 390 || scrollW > clientW {
		t.Errorf("at 390 px: scrollWidth %d, clientWidth %d (want no horizontal scroll)", scrollW, clientW)
	}
	shot(t, ctx, "status-390px.png")

	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}

	// JavaScript off: the server-rendered page has every state, and the
	// <noscript> refresh takes over.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`#svc-messaging`))); err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`html`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `http-equiv="refresh"`) || !strings.Contains(html, "receive") || !strings.Contains(html, "✓ up") {
		t.Errorf("page with JavaScript off lacks its refresh or states:\n%.600s", html)
	}
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: false}); err != nil {
		t.Fatal(err)
	}

	// The public page.
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+public+"/"), chromedp.WaitVisible(chromedp.CSS(`#svc-messaging`))); err != nil {
		t.Fatal(err)
	}
	if html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS(`html`))); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"messaging-roundtrip", "/messaging/", env.plat, "it-a", "/reports/", "/metrics"} {
		if strings.Contains(html, bad) {
			t.Errorf("public page shows %q", bad)
		}
	}
	if !strings.Contains(html, "Example status") || !strings.Contains(html, "receive") {
		t.Errorf("public page lacks its title or functions")
	}
	shot(t, ctx, "status-public.png")
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}
