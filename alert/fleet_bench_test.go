package alert

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/state"
)

// BenchmarkSetFleet is what a fleet's verdict costs the notifier at each
// rebuild of the figures: 1,000 flows of two locations, each flow and its
// three functions down at the quorum (4,000 counted windows open, 4,000
// closed earlier in the month) and at this prober (4,000 own windows), the
// alerts already firing: the steady state of a whole-platform outage.
func BenchmarkSetFleet(b *testing.B) {
	am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer am.Close()
	clk := clock.NewManual(t0.Add(time.Hour))
	n, err := NewNotifier(Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: clk, FleetAware: true})
	if err != nil {
		b.Fatal(err)
	}
	var own []state.Event
	var f Fleet
	f.Fleet = true
	for i := range 1000 {
		for _, fn := range []string{"", "login", "send", "receive"} {
			w := flowWindow(state.KindDown, fn, t0)
			w.Flow = fmt.Sprintf("flow-%04d", i)
			own = append(own, open(w))
			c := w
			c.Location = "busan-b, seoul-a"
			c.Start = t0.Add(5 * time.Minute)
			old := c
			old.Start, old.End = t0.Add(-time.Hour), t0.Add(-50*time.Minute)
			f.Counted = append(f.Counted, old, c)
		}
	}
	n.Reconcile(nil)
	n.Handle(own)
	n.SetFleet(f)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n.SetFleet(f)
	}
}

// BenchmarkSetFleetLocked is the part of BenchmarkSetFleet's verdict taken
// with the notifier's lock held, which the runs' window events (Handle)
// wait for: the quorum's alerts are rendered before it is taken.
func BenchmarkSetFleetLocked(b *testing.B) {
	am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer am.Close()
	clk := clock.NewManual(t0.Add(time.Hour))
	n, err := NewNotifier(Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: clk, FleetAware: true})
	if err != nil {
		b.Fatal(err)
	}
	var own []state.Event
	f := Fleet{Fleet: true}
	for i := range 1000 {
		for _, fn := range []string{"", "login", "send", "receive"} {
			w := flowWindow(state.KindDown, fn, t0)
			w.Flow = fmt.Sprintf("flow-%04d", i)
			own = append(own, open(w))
			c := w
			c.Location = "busan-b, seoul-a"
			c.Start = t0.Add(5 * time.Minute)
			old := c
			old.Start, old.End = t0.Add(-time.Hour), t0.Add(-50*time.Minute)
			f.Counted = append(f.Counted, old, c)
		}
	}
	n.Reconcile(nil)
	n.Handle(own)
	n.SetFleet(f)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		q := n.renderCounted(f.Counted, nil)
		b.StartTimer()
		n.mu.Lock()
		n.syncFleetWith(q, clk.Now())
		n.mu.Unlock()
	}
}

// BenchmarkSetFleetResolve is what the verdict that ends a whole-platform
// outage costs the notifier: flows flows of two locations, each flow and
// its three functions counted by the quorum and firing, then all of them
// closed (the figures holding each counted window twice over the month:
// once earlier, once now). Each resolve looks up its counted window's end.
func BenchmarkSetFleetResolve(b *testing.B) {
	for _, flows := range []int{1000, 4000} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) {
			am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			defer am.Close()
			clk := clock.NewManual(t0.Add(time.Hour))
			n, err := NewNotifier(Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: clk, FleetAware: true})
			if err != nil {
				b.Fatal(err)
			}
			n.Reconcile(nil)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				start := clk.Now()
				var open, closed Fleet
				open.Fleet, closed.Fleet = true, true
				for j := range flows {
					for _, fn := range []string{"", "login", "send", "receive"} {
						c := flowWindow(state.KindDown, fn, start)
						c.Flow = fmt.Sprintf("flow-%04d", j)
						c.Location = "busan-b, seoul-a"
						old := c
						old.Start, old.End = t0.Add(-time.Hour), t0.Add(-50*time.Minute)
						open.Counted = append(open.Counted, old, c)
						c.End = start.Add(time.Minute)
						closed.Counted = append(closed.Counted, old, c)
					}
				}
				n.SetFleet(open)
				clk.Advance(2 * time.Minute)
				b.StartTimer()
				n.SetFleet(closed)
			}
		})
	}
}

// BenchmarkFleetHandle is what one run's window events cost the run path
// (Handle, the notifier's lock held) while flows flows of two locations are
// down at the quorum and at this prober (each flow and its three functions:
// the alerts firing), in a fleet and, for comparison, alone: one more
// flow's window opening, then closing.
func BenchmarkFleetHandle(b *testing.B) {
	for _, fleet := range []bool{false, true} {
		for _, flows := range []int{1000, 4000} {
			b.Run(fmt.Sprintf("fleet=%v/flows=%d", fleet, flows), func(b *testing.B) {
				am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				defer am.Close()
				clk := clock.NewManual(t0.Add(time.Hour))
				n, err := NewNotifier(Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: clk, FleetAware: true})
				if err != nil {
					b.Fatal(err)
				}
				var own []state.Event
				f := Fleet{Fleet: fleet}
				for i := range flows {
					for _, fn := range []string{"", "login", "send", "receive"} {
						w := flowWindow(state.KindDown, fn, t0)
						w.Flow = fmt.Sprintf("flow-%04d", i)
						own = append(own, open(w))
						if fleet {
							c := w
							c.Location = "busan-b, seoul-a"
							c.Start = t0.Add(5 * time.Minute)
							f.Counted = append(f.Counted, c)
						}
					}
				}
				n.Reconcile(nil)
				n.SetFleet(f)
				n.Handle(own)
				extra := flowWindow(state.KindDown, "", t0)
				extra.Flow = "extra"
				b.ReportAllocs()
				for b.Loop() {
					extra.Start = clk.Now()
					n.Handle([]state.Event{open(extra)})
					clk.Advance(time.Minute)
					extra.End = clk.Now()
					n.Handle([]state.Event{{Op: state.OpClose, Window: extra}})
					extra.End = time.Time{}
					clk.Advance(time.Minute)
					b.StopTimer()
					n.SetFleet(Fleet{NoRuns: true}) // a build that works: no lapse (a verdict that says nothing costs nothing)
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkLapsedHandle is what the runs' window events cost the run path
// (Handle, the notifier's lock held) while the fleet's prober is lapsed
// (the shared database gone) with the quorum's page of each of flows flows
// and its three functions kept firing (its own windows open): the whole
// platform recovering at once, every own window closing in one batch.
func BenchmarkLapsedHandle(b *testing.B) {
	for _, flows := range []int{1000, 4000} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) {
			am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			defer am.Close()
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				clk := clock.NewManual(t0)
				n, err := NewNotifier(Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: clk, FleetAware: true})
				if err != nil {
					b.Fatal(err)
				}
				var opens, closes []state.Event
				f := Fleet{Fleet: true, Next: time.Minute}
				for i := range flows {
					for _, fn := range []string{"", "login", "send", "receive"} {
						w := flowWindow(state.KindDown, fn, t0)
						w.Flow = fmt.Sprintf("flow-%04d", i)
						opens = append(opens, open(w))
						closes = append(closes, closeAt(w, t0.Add(20*time.Minute)))
						c := w
						c.Location = "busan-b, seoul-a"
						f.Counted = append(f.Counted, c)
					}
				}
				n.Reconcile(nil)
				n.Handle(opens)
				clk.Advance(time.Minute)
				n.SetFleet(f)
				clk.Advance(10 * time.Minute) // no verdict since: lapsed
				n.Handle(nil)
				if !n.lapsed {
					b.Fatal("not lapsed")
				}
				b.StartTimer()
				n.Handle(closes)
			}
		})
	}
}

// BenchmarkSetFleetDatabaseBack is the verdict the shared database's
// return brings (Fleet.Unknown): flows flows, each flow and its three
// functions paged by the quorum, every counted window closed at the
// database's stop where every location's data ends (an unknown stretch of
// each flow open to the figures' end), so each page is kept (unmeasured):
// the cost of that rule over BenchmarkSetFleet's steady state.
func BenchmarkSetFleetDatabaseBack(b *testing.B) {
	for _, flows := range []int{1000, 50000} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) {
			am := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			defer am.Close()
			clk := clock.NewManual(t0.Add(time.Hour))
			n, err := NewNotifier(Options{URLs: []string{am.URL}, Location: "seoul-a", Clock: clk, FleetAware: true})
			if err != nil {
				b.Fatal(err)
			}
			stop := t0.Add(30 * time.Minute)
			var open, back Fleet
			open.Fleet, back.Fleet = true, true
			for i := range flows {
				for _, fn := range []string{"", "login", "send", "receive"} {
					c := flowWindow(state.KindDown, fn, t0)
					c.Flow = fmt.Sprintf("flow-%05d", i)
					c.Location = "busan-b, seoul-a"
					old := c
					old.Start, old.End = t0.Add(-time.Hour), t0.Add(-50*time.Minute)
					open.Counted = append(open.Counted, old, c)
					c.End = stop
					back.Counted = append(back.Counted, old, c)
				}
				g := gapOf(stop, time.Time{})
				g.Flow = fmt.Sprintf("flow-%05d", i)
				back.Unknown = append(back.Unknown, g)
			}
			n.Reconcile(nil)
			n.SetFleet(open)
			clk.Advance(time.Minute)
			n.SetFleet(back)
			if got := len(n.Active()); got != 4*flows {
				b.Fatalf("firing %d, want %d (every page kept)", got, 4*flows)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				n.SetFleet(back)
			}
		})
	}
}
