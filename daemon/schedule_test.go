package daemon

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestOffsetSpreadsEvenlyAndIsStable(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{
		{"30s", 30 * time.Second},
		{"60s", time.Minute},
		{"10m (never capped)", 10 * time.Minute},
		{"1h", time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n, buckets = 100, 10
			offs := make([]time.Duration, n)
			counts := make([]int, buckets)
			for i := range n {
				flow := fmt.Sprintf("flow-%03d", i)
				offs[i] = Offset("seoul-a", flow, tc.interval)
				if again := Offset("seoul-a", flow, tc.interval); again != offs[i] {
					t.Fatalf("Offset(%s) not stable: %v then %v", flow, offs[i], again)
				}
				if offs[i] < 0 || offs[i] >= tc.interval {
					t.Fatalf("Offset(%s) = %v, outside [0, %v)", flow, offs[i], tc.interval)
				}
				counts[int(offs[i]*buckets/tc.interval)]++
			}
			// Evenly: every tenth of the interval gets some flows, none
			// gets a crowd (expected 10 each).
			for b, c := range counts {
				if c < 3 || c > 20 {
					t.Errorf("bucket %d of %d has %d of %d flows: %v", b, buckets, c, n, counts)
				}
			}
			slices.Sort(offs)
			gap := offs[0] + tc.interval - offs[n-1]
			for i := 1; i < n; i++ {
				gap = max(gap, offs[i]-offs[i-1])
			}
			if gap > tc.interval/8 {
				t.Errorf("largest gap between first runs is %v of %v", gap, tc.interval)
			}
			if Offset("busan-b", "flow-000", tc.interval) == Offset("seoul-a", "flow-000", tc.interval) {
				t.Errorf("offset does not depend on the location")
			}
		})
	}
}

func TestNextDue(t *testing.T) {
	const loc, flow = "seoul-a", "messaging-roundtrip"
	iv := time.Minute
	off := Offset(loc, flow, iv)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Add(17*time.Second + 250*time.Millisecond)
	grid := gridAtOrAfter(off, iv, now)
	lastOnGrid := grid.Add(-iv).Add(300 * time.Millisecond) // started a little late

	for _, tc := range []struct {
		name    string
		lastRun time.Time
		want    time.Time
	}{
		{"new flow: next grid point", time.Time{}, grid},
		{"recent run: one interval later, back on the grid", lastOnGrid, grid},
		{"run a minute ago exactly", now.Add(-iv), gridAtOrAfter(off, iv, now)},
		{"overdue after downtime: within one interval, at the offset", now.Add(-3 * time.Hour), grid},
		{"recent run off the grid (interval changed): invariants only", now.Add(-10 * time.Second), time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NextDue(loc, flow, iv, tc.lastRun, now)
			if !tc.want.IsZero() && !got.Equal(tc.want) {
				t.Errorf("NextDue = %v, want %v", got, tc.want)
			}
			if got.Before(now) {
				t.Errorf("NextDue = %v is before now %v", got, now)
			}
			if got.Sub(now) >= iv {
				t.Errorf("NextDue = %v is a full interval or more after now", got)
			}
			if !tc.lastRun.IsZero() && tc.lastRun.Add(iv).After(now) && got.Sub(tc.lastRun) > iv {
				t.Errorf("gap since last run %v > interval", got.Sub(tc.lastRun))
			}
		})
	}
	if a, b := NextDue(loc, flow, iv, time.Time{}, now), NextDue(loc, flow, iv, time.Time{}, now); !a.Equal(b) {
		t.Errorf("NextDue not deterministic: %v, %v", a, b)
	}
	if got := NextDue(loc, flow, iv, time.Time{}, now); got.Sub(time.Unix(0, 0))%iv != off {
		t.Errorf("new flow due %v is not at its offset %v", got, off)
	}
}

func TestNextDueRestartSpread(t *testing.T) {
	// After long downtime all flows are overdue: they must not all fire at
	// once, and each must run within one interval.
	iv := time.Minute
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	last := now.Add(-time.Hour)
	seen := map[time.Time]int{}
	for i := range 200 {
		due := NextDue("seoul-a", fmt.Sprintf("f%d", i), iv, last, now)
		if due.Before(now) || due.Sub(now) >= iv {
			t.Fatalf("due %v outside [now, now+interval)", due)
		}
		seen[due.Truncate(time.Second)]++
	}
	for at, n := range seen {
		if n > 10 {
			t.Errorf("%d of 200 flows due in the same second %v", n, at)
		}
	}
}

func TestDueAt(t *testing.T) {
	anchor := time.Date(2026, 3, 1, 12, 0, 7, 0, time.UTC)
	iv := 30 * time.Second
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"before anchor", anchor.Add(-time.Second), anchor},
		{"at anchor", anchor, anchor},
		{"late by 40ms", anchor.Add(40 * time.Millisecond), anchor},
		{"third run, late", anchor.Add(2*iv + 5*time.Millisecond), anchor.Add(2 * iv)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DueAt(anchor, iv, tc.now); !got.Equal(tc.want) {
				t.Errorf("DueAt = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	iv := time.Minute
	due := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	distinct := map[time.Duration]bool{}
	for i := range 50 {
		at := due.Add(time.Duration(i) * iv)
		j := Jitter("seoul-a", "f", iv, at)
		if j < 0 || j >= iv*JitterPercent/100 {
			t.Fatalf("Jitter = %v, outside [0, %d%% of %v)", j, JitterPercent, iv)
		}
		if j != Jitter("seoul-a", "f", iv, at) {
			t.Fatal("Jitter not deterministic")
		}
		distinct[j] = true
	}
	if len(distinct) < 40 {
		t.Errorf("jitter takes only %d distinct values over 50 runs", len(distinct))
	}
	if Jitter("a", "f", 40*time.Nanosecond, due) != 0 {
		t.Error("an interval too short for jitter must get none")
	}
}

func TestNextDueShortStopStaysCovered(t *testing.T) {
	// A stop shorter than twice the interval is no unknown stretch (README,
	// "A restart"): the first run after it, jitter included, must start
	// within two intervals of the last run before it, or the state machine
	// finds an unknown stretch and cuts an ongoing outage in two. Seen live:
	// route10 (10 s) last ran 19:41:43.670, the daemon was killed at
	// 19:41:53.03 and up again at 19:41:57.05 (a 4 s stop), and it next ran
	// at its grid point 19:42:03.675 (20.005 s later): its down window ended
	// "no_data" at 19:41:53.670 and a second began at 19:42:03.675.
	last := time.Date(2026, 12, 3, 19, 41, 43, 670_000_000, time.UTC)
	for _, tc := range []struct {
		name     string
		loc      string
		flow     string
		interval time.Duration
		stop     time.Duration // now = last + stop
		flows    int           // >0: also that many generated flow names
	}{
		{"the live case", "loc-a", "route10-noconfirm-d1", 10 * time.Second, 13*time.Second + 380*time.Millisecond, 0},
		{"overdue by a moment", "seoul-a", "f", time.Minute, time.Minute + time.Second, 200},
		{"overdue by most of an interval", "seoul-a", "g", time.Minute, 110 * time.Second, 200},
		{"hourly, restarted just after its slot", "seoul-a", "h", time.Hour, time.Hour + 30*time.Second, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names := []string{tc.flow}
			for i := range tc.flows {
				names = append(names, fmt.Sprintf("%s%d", tc.flow, i))
			}
			now := last.Add(tc.stop)
			for _, name := range names {
				due := NextDue(tc.loc, name, tc.interval, last, now)
				start := due.Add(Jitter(tc.loc, name, tc.interval, due))
				if due.Before(now) {
					t.Fatalf("%s: due %v before now %v", name, due, now)
				}
				if gap := start.Sub(last); gap > 2*tc.interval {
					t.Fatalf("%s: restarted %v after the last run, the first run starts %v after it, more than twice the interval %v", name, now.Sub(last), gap, tc.interval)
				}
			}
		})
	}
}
