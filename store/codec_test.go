package store

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

func TestStepsBlob(t *testing.T) {
	names := map[int64]nameKey{0: {}, 1: {"login", "auth"}, 2: {"send", "send"}, 300: {"receive", "receive"}}
	full := probe.StepResult{Step: "login", Function: "auth", Status: probe.StatusDegraded, HTTPStatus: 200, Duration: 1500 * time.Millisecond,
		Phases:   probe.Phases{Resolve: time.Millisecond, Connect: 2 * time.Millisecond, TLS: 3 * time.Millisecond, Processing: time.Second, Transfer: time.Microsecond},
		Attempts: 3, Ended: 1501 * time.Millisecond}
	failed := probe.StepResult{Step: "send", Function: "send", Status: probe.StatusFailed, HTTPStatus: 503, Duration: -time.Nanosecond, Ended: time.Nanosecond, Error: "status 503, want 200 — 한글"}
	notRun := probe.StepResult{Step: "receive", Function: "receive", Status: probe.StatusNotRun}
	tests := []struct {
		name  string
		ids   []int64
		steps []probe.StepResult
	}{
		{"no steps", nil, nil},
		{"one", []int64{1}, []probe.StepResult{full}},
		{"three", []int64{1, 2, 300}, []probe.StepResult{full, failed, notRun}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([]stepRow, len(tc.steps))
			for i := range tc.steps {
				rows[i] = stepRow{name: tc.ids[i], res: &tc.steps[i]}
			}
			got, err := decodeSteps(appendSteps(nil, rows), names, nil)
			if err != nil || !reflect.DeepEqual(got, tc.steps) {
				t.Errorf("round trip = %+v, %v; want %+v", got, err, tc.steps)
			}
		})
	}
	good := appendSteps(nil, []stepRow{{1, &full}})
	for _, bad := range [][]byte{{9}, {1, 0x80}, {1, 5}, good[:len(good)-1], append(append([]byte{}, good...), 0), {1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := decodeSteps(bad, names, nil); err == nil {
			t.Errorf("decodeSteps(%x) accepted", bad)
		}
	}
}

// TestStepsBlobFormat1: a steps blob written before StepResult.Ended was
// kept (format 1, as main's de9b7aa wrote it) still reads, its steps' Ended
// 0 (not known: the state machine takes the run's end).
func TestStepsBlobFormat1(t *testing.T) {
	names := map[int64]nameKey{1: {"login", "auth"}, 2: {"send", "send"}, 300: {"receive", "receive"}}
	old, err := hex.DecodeString("01030102900380bcc1960b000000000006000201ee0780b4891300000000000014737461747573203530332c2077616e7420323030ac0203000000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	want := []probe.StepResult{
		{Step: "login", Function: "auth", Status: probe.StatusDegraded, HTTPStatus: 200, Duration: 1500 * time.Millisecond, Attempts: 3},
		{Step: "send", Function: "send", Status: probe.StatusFailed, HTTPStatus: 503, Duration: 20 * time.Millisecond, Error: "status 503, want 200"},
		{Step: "receive", Function: "receive", Status: probe.StatusNotRun},
	}
	got, err := decodeSteps(old, names, nil)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("format 1 blob = %+v, %v; want %+v", got, err, want)
	}
	if p := appendSteps(nil, []stepRow{{1, &want[0]}}); p[0] != stepsFormat || stepsFormat == stepsFormat1 {
		t.Errorf("appendSteps writes format %d, want %d (with Ended)", p[0], stepsFormat)
	}
}

func TestStatsEncodings(t *testing.T) {
	a := []stat{{name: 0, ok: 3, failed: 1, sum: 4e9, hist: sparse{{40, 3}, {97, 1}}}, {name: 7, ok: 2, notRun: 2, sum: 1e6, hist: sparse{{0, 2}}}}
	b := []stat{{name: 0, ok: 1, degraded: 1, sum: 1e9, hist: sparse{{40, 1}, {41, 1}}}, {name: 3, failed: 1, sum: -5}, {name: 7, notRun: 1}}
	want := []stat{{name: 0, ok: 4, failed: 1, degraded: 1, sum: 5e9, hist: sparse{{40, 4}, {41, 1}, {97, 1}}},
		{name: 3, failed: 1, sum: -5, hist: sparse{}}, {name: 7, ok: 2, notRun: 3, sum: 1e6, hist: sparse{{0, 2}}}}
	norm := func(ss []stat) []stat { // nil and empty histograms are the same
		out := append([]stat(nil), ss...)
		for i := range out {
			if len(out[i].hist) == 0 {
				out[i].hist = nil
			}
		}
		return out
	}
	if got := mergeStats(a, b); !reflect.DeepEqual(norm(got), norm(want)) {
		t.Errorf("mergeStats = %+v, want %+v", got, want)
	}
	for _, ss := range [][]stat{nil, a, b, want} {
		got, err := decodeStats(encodeStats(ss))
		if err != nil || !reflect.DeepEqual(norm(got), norm(ss)) {
			t.Errorf("blob round trip of %+v = %+v, %v", ss, got, err)
		}
		got, err = decodeStatsJSON([]byte(encodeStatsJSON(ss)))
		if err != nil || !reflect.DeepEqual(norm(got), norm(ss)) {
			t.Errorf("JSON round trip of %s = %+v, %v", encodeStatsJSON(ss), got, err)
		}
	}
	for _, bad := range [][]byte{{9}, {2, 0}, {2, 1, 1}, {2, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03}, {2, 1, 0, 0, 0, 0, 0, 1, 0, 1},
		{2, 1, 0, 0, 0, 0, 0, 2, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0}, // a bad second bin, a good entry after it
		{2, 1, 0, 0, 0, 0, 0, 2, 1, 1}} {                          // a bin short
		if _, err := decodeStats(bad); err == nil {
			t.Errorf("decodeStats(%x) accepted", bad)
		}
	}
	for _, bad := range []string{`[]`, `{"x":[1,2,3,4,5]}`, `{"1":[1,2]}`, `{"1":[1,2,3,4,5,-1]}`, `{"1":[1,2,3,4,5,1.5]}`} {
		if _, err := decodeStatsJSON([]byte(bad)); err == nil {
			t.Errorf("decodeStatsJSON(%s) accepted", bad)
		}
	}
}

func FuzzDecodeSteps(f *testing.F) {
	s := probe.StepResult{Status: probe.StatusFailed, HTTPStatus: 502, Duration: time.Second, Attempts: 1, Error: "boom"}
	f.Add(appendSteps(nil, []stepRow{{1, &s}, {2, &s}}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0x0f})
	names := map[int64]nameKey{1: {"a", "a"}, 2: {"b", "b"}}
	f.Fuzz(func(t *testing.T, p []byte) {
		steps, err := decodeSteps(p, names, nil)
		if err != nil || len(steps) == 0 {
			return
		}
		if len(steps) > len(p) {
			t.Fatalf("%d steps from %d bytes", len(steps), len(p))
		}
	})
}

func FuzzDecodeStats(f *testing.F) {
	f.Add(encodeStats([]stat{{name: 0, ok: 1, sum: 5, hist: sparse{{3, 1}}}, {name: 4, notRun: 1}}))
	f.Add([]byte{2, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		ss, err := decodeStats(p)
		if err != nil {
			return
		}
		ss2, err := decodeStats(encodeStats(ss))
		if err != nil || len(ss2) != len(ss) {
			t.Fatalf("re-encoding %x: %d entries -> %d (%v)", p, len(ss), len(ss2), err)
		}
	})
}

// addStatsRef is what slaprobe_rollup_add computed before addStats: decode
// both blobs, merge, encode.
func addStatsRef(a, b []byte) ([]byte, error) {
	sa, err := decodeStats(a)
	if err != nil {
		return nil, err
	}
	sb, err := decodeStats(b)
	if err != nil {
		return nil, err
	}
	return encodeStats(mergeStats(sa, sb)), nil
}

// addStats must be decode-merge-encode byte for byte, and refuse what
// decodeStats refuses.
func TestAddStats(t *testing.T) {
	a := encodeStats([]stat{{name: 0, ok: 3, failed: 1, sum: 4e9, hist: sparse{{40, 3}, {97, 1}}}, {name: 7, ok: 2, notRun: 2, sum: 1e6, hist: sparse{{0, 2}}}})
	b := encodeStats([]stat{{name: 0, ok: 1, degraded: 1, sum: 1e9, hist: sparse{{40, 1}, {41, 1}}}, {name: 3, failed: 1, sum: -5}, {name: 7, notRun: 1}})
	c := encodeStats([]stat{{name: 2, ok: 1, sum: 7, hist: sparse{{4095, 1}}}, {name: 1 << 40, ok: 1}})
	// Histograms of n bins, every step-th slot from first: the number of
	// merged bins is written in one byte up to 127, in two from 128.
	bins := func(n, first, step int) []byte {
		s := stat{ok: int64(n)}
		for i := range n {
			s.hist = append(s.hist, bin{idx: first + i*step, count: int64(1 + i%3)})
		}
		return encodeStats([]stat{s})
	}
	cases := []struct {
		name string
		a, b []byte
	}{
		{"both empty", nil, nil},
		{"empty and one", nil, a},
		{"one and empty", a, nil},
		{"format byte only", []byte{statsFormat}, b},
		{"shared names", a, b},
		{"shared names swapped", b, a},
		{"disjoint", a, c},
		{"itself", c, c},
		{"127 bins, disjoint", bins(64, 0, 2), bins(63, 1, 2)},
		{"128 bins, disjoint", bins(64, 0, 2), bins(64, 1, 2)},
		{"64+64 bins, the same", bins(64, 0, 1), bins(64, 0, 1)},
		{"100+60 bins, 130 merged", bins(100, 0, 2), bins(60, 0, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := addStatsRef(tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := addStats(tc.a, tc.b)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("addStats = %x, %v; want %x", got, err, want)
			}
		})
	}
	// Random rows, as a batch makes them.
	rng := rand.New(rand.NewPCG(1, 2))
	randStats := func() []byte {
		var ss []stat
		name := int64(-1)
		for range rng.IntN(5) {
			name += 1 + rng.Int64N(3)
			s := stat{name: name, ok: rng.Int64N(5), failed: rng.Int64N(2), degraded: rng.Int64N(2), notRun: rng.Int64N(2), sum: rng.Int64N(1e10) - 1e3}
			for range rng.IntN(4) {
				s.hist = s.hist.add(rng.IntN(100), 1+rng.Int64N(3))
			}
			ss = append(ss, s)
		}
		return encodeStats(ss)
	}
	for i := range 2000 {
		x, y := randStats(), randStats()
		want, _ := addStatsRef(x, y)
		if got, err := addStats(x, y); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: addStats(%x, %x) = %x, %v; want %x", i, x, y, got, err, want)
		}
	}
	for _, bad := range [][]byte{{9}, {2, 0}, {2, 1, 1}, {2, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03}, {2, 1, 0, 0, 0, 0, 0, 1, 0, 1},
		{2, 1, 0, 0, 0, 0, 0, 2, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0}, // a bad second bin, a good entry after it
		{2, 1, 0, 0, 0, 0, 0, 2, 1, 1}} {                          // a bin short
		if _, err := addStats(bad, a); !errors.Is(err, errStats) {
			t.Errorf("addStats(%x, a) = %v, want errStats", bad, err)
		}
		if _, err := addStats(a, bad); !errors.Is(err, errStats) {
			t.Errorf("addStats(a, %x) = %v, want errStats", bad, err)
		}
	}
}

// addStats allocates its result only.
func TestAddStatsAllocations(t *testing.T) {
	a := encodeStats([]stat{{name: 0, ok: 3, sum: 4e9, hist: sparse{{40, 3}, {97, 1}}}, {name: 7, ok: 2, sum: 1e6, hist: sparse{{0, 2}}}})
	b := encodeStats([]stat{{name: 0, ok: 1, sum: 1e9, hist: sparse{{40, 1}}}, {name: 7, ok: 1, sum: 1e6, hist: sparse{{1, 1}}}})
	if n := testing.AllocsPerRun(100, func() { addStats(a, b) }); n > 1 { //nolint:errcheck // valid blobs
		t.Errorf("addStats: %.0f allocations, want 1", n)
	}
}

func FuzzAddStats(f *testing.F) {
	a := encodeStats([]stat{{name: 0, ok: 1, sum: 5, hist: sparse{{3, 1}}}, {name: 4, notRun: 1}})
	f.Add(a, a)
	f.Add(a, []byte{2, 0xff, 0xff, 0xff})
	f.Add([]byte{}, encodeStats([]stat{{name: 1, failed: 2, hist: sparse{{0, 1}, {9, 1}}}}))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		want, werr := addStatsRef(a, b)
		got, err := addStats(a, b)
		if (err != nil) != (werr != nil) {
			t.Fatalf("addStats(%x, %x): error %v, decode-merge-encode %v", a, b, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("addStats(%x, %x) = %x, want %x", a, b, got, want)
		}
	})
}

// BenchmarkAddStats is slaprobe_rollup_add as the daemon's steady state
// calls it: a stored hour row (the run and one step, some hundred runs over
// a few latency slots) plus one run's row.
//
//	go test ./store -run '^$' -bench AddStats -benchmem
func BenchmarkAddStats(b *testing.B) {
	row := sparse{{0, 100}, {3, 50}, {7, 150}, {9, 2}}
	stored := encodeStats([]stat{{name: 0, ok: 300, failed: 2, sum: 123456789, hist: row}, {name: 5, ok: 300, failed: 2, sum: 123456789, hist: row}})
	run := encodeStats([]stat{{name: 0, ok: 1, sum: 1234567, hist: sparse{{3, 1}}}, {name: 5, ok: 1, sum: 1234567, hist: sparse{{3, 1}}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := addStats(stored, run); err != nil {
			b.Fatal(err)
		}
	}
}

// addStats on the edges of its one-pass form: bin counts around one and two
// varint bytes (127/128/255/256 merged bins), counts and bin counts past one
// byte, negative sums, entries on one side only; and corrupt inputs refused
// exactly when decodeStats refuses them, whichever side they are on.
func TestAddStatsEdges(t *testing.T) {
	hist := func(n, first, step int, count int64) sparse {
		var h sparse
		for i := range n {
			h = append(h, bin{idx: first + i*step, count: count + int64(i%3)})
		}
		return h
	}
	one := func(ss ...stat) []byte { return encodeStats(ss) }
	cases := []struct {
		name string
		a, b []byte
	}{
		{"255 merged bins", one(stat{ok: 1, hist: hist(128, 0, 2, 1)}), one(stat{ok: 1, hist: hist(127, 1, 2, 1)})},
		{"256 merged bins", one(stat{ok: 1, hist: hist(128, 0, 2, 1)}), one(stat{ok: 1, hist: hist(128, 1, 2, 1)})},
		{"127 bins one side", one(stat{ok: 1, hist: hist(127, 0, 1, 1)}), nil},
		{"128 bins one side", nil, one(stat{ok: 1, hist: hist(128, 0, 1, 1)})},
		{"127+1 bins, 127 merged", one(stat{ok: 1, hist: hist(127, 0, 1, 1)}), one(stat{ok: 1, hist: sparse{{5, 1}}})},
		{"slot distances past one byte", one(stat{ok: 1, hist: hist(3, 0, 1000, 1)}), one(stat{ok: 1, hist: hist(4, 500, 900, 1)})},
		{"huge counts", one(stat{ok: 1 << 40, failed: 300, degraded: 1 << 20, notRun: 128, sum: 1 << 62, hist: hist(5, 0, 1, 1<<61)}),
			one(stat{ok: 1 << 40, sum: 1 << 61, hist: hist(5, 2, 1, 1<<61)})},
		{"negative sums", one(stat{ok: 1, sum: -1 << 40}, stat{name: 9, sum: -1}), one(stat{ok: 1, sum: -3}, stat{name: 2, sum: -200})},
		{"entries one side only", one(stat{name: 1, ok: 1, hist: sparse{{1, 1}}}, stat{name: 3, notRun: 2}),
			one(stat{name: 0, failed: 1, hist: sparse{{0, 200}}}, stat{name: 2, degraded: 1, hist: hist(130, 0, 1, 1)}, stat{name: 1 << 40, ok: 1})},
		{"zero-count bins", one(stat{ok: 1, hist: sparse{{0, 0}, {4, 0}}}), one(stat{ok: 1, hist: sparse{{4, 0}, {9, 0}}})},
	}
	for _, tc := range cases {
		for _, swap := range []bool{false, true} {
			a, b := tc.a, tc.b
			if swap {
				a, b = b, a
			}
			want, err := addStatsRef(a, b)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got, err := addStats(a, b); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s (swapped %v): addStats = %x, %v; want %x", tc.name, swap, got, err, want)
			}
		}
	}
	// Corrupt inputs: every truncation and every one-byte change of valid
	// blobs, against a valid, an empty and a many-bin other side.
	valid := [][]byte{
		one(stat{ok: 3, sum: -7, hist: sparse{{1, 1}, {200, 300}}}, stat{name: 4, notRun: 1}, stat{name: 300, ok: 1, hist: hist(130, 0, 1, 1)}),
		one(stat{name: 2, ok: 1, hist: sparse{{0, 1}}}),
	}
	others := [][]byte{nil, valid[1], one(stat{ok: 1, hist: hist(127, 1, 1, 1)}, stat{name: 4, ok: 1})}
	check := func(x []byte) {
		for _, y := range others {
			for _, p := range [][2][]byte{{x, y}, {y, x}} {
				want, werr := addStatsRef(p[0], p[1])
				got, err := addStats(p[0], p[1])
				if (err != nil) != (werr != nil) || (err == nil && !bytes.Equal(got, want)) {
					t.Fatalf("addStats(%x, %x) = %x, %v; decode-merge-encode %x, %v", p[0], p[1], got, err, want, werr)
				}
				if err != nil && !errors.Is(err, errStats) {
					t.Fatalf("addStats(%x, %x): %v, not errStats", p[0], p[1], err)
				}
			}
		}
	}
	for _, v := range valid {
		for n := range len(v) {
			check(v[:n])
		}
		for i := range v {
			for _, c := range []byte{0, 1, 0x7f, 0x80, 0xff, v[i] + 1, v[i] - 1} {
				x := bytes.Clone(v)
				x[i] = c
				check(x)
			}
		}
	}
}

// slaprobe_rollup_add's arguments are views of SQLite's memory, valid during
// the call only (VolatileArgs): addStats must return nothing that shares
// their memory, not even when one side is empty or NULL, nor an error that
// does.
func TestAddStatsKeepsNothingOfItsArgs(t *testing.T) {
	a := encodeStats([]stat{{name: 0, ok: 3, failed: 1, sum: 4e9, hist: sparse{{40, 3}, {97, 1}}}, {name: 7, ok: 2, sum: 1e6}})
	b := encodeStats([]stat{{name: 0, ok: 1, sum: 1e9, hist: sparse{{40, 1}}}})
	for _, tc := range []struct {
		name string
		a, b []byte
	}{
		{"both", a, b}, {"a only", a, nil}, {"b only", nil, b}, {"a and empty", a, []byte{}},
		{"format bytes only", []byte{statsFormat}, []byte{statsFormat}}, {"a and format byte", a, []byte{statsFormat}},
		{"nil", nil, nil}, {"bad format", []byte{9, 1}, b}, {"bad entry", a, []byte{statsFormat, 0}},
	} {
		x, y := bytes.Clone(tc.a), bytes.Clone(tc.b)
		got, err := addStats(x, y)
		kept := bytes.Clone(got)
		var msg string
		if err != nil {
			msg = err.Error()
		}
		// SQLite reuses the memory once the call returns.
		for _, p := range [][]byte{x, y} {
			for i := range p {
				p[i] = 0xa5
			}
		}
		if !bytes.Equal(got, kept) {
			t.Errorf("%s: addStats's result changed with its arguments' memory: %x, was %x", tc.name, got, kept)
		}
		if err != nil && err.Error() != msg {
			t.Errorf("%s: addStats's error changed with its arguments' memory: %q, was %q", tc.name, err, msg)
		}
		if err == nil && len(got) > 0 && ((len(x) > 0 && &got[0] == &x[0]) || (len(y) > 0 && &got[0] == &y[0])) {
			t.Errorf("%s: addStats returned one of its arguments", tc.name)
		}
	}
}
