package report

import (
	"reflect"
	"testing"

	"github.com/slaprobe/slaprobe/config"
)

// TestLatencyShortHistograms: Totals' histograms stop at their last used
// slot; the step and service percentiles are those of the full histograms.
func TestLatencyShortHistograms(t *testing.T) {
	cs := &config.Service{Name: "s", Flows: []config.Flow{{Name: "f", Steps: []config.Step{{Name: "a", Function: "fa"}, {Name: "b", Function: "fb"}}}}}
	full := func(h []int64) []int64 {
		out := make([]int64, len(newLatency().all))
		copy(out, h)
		return out
	}
	for _, tc := range []struct {
		name string
		a, b [][]int64 // the histograms added for steps a and b, in order
	}{
		{"one short each", [][]int64{{0, 3, 1}}, [][]int64{{5}}},
		{"short then longer", [][]int64{{1}, {0, 0, 0, 0, 2}}, [][]int64{{0, 1}, {4}}},
		{"empty and nil", [][]int64{{}}, [][]int64{nil, {0, 0, 7}}},
		{"a full one", [][]int64{full([]int64{0, 1}), {2}}, [][]int64{{1, 1, 1}}},
		{"longer than full: folded into the overflow", [][]int64{append(full([]int64{1}), 9)}, [][]int64{{1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			short, dense := newLatency(), newLatency()
			for _, st := range []struct {
				step string
				hs   [][]int64
			}{{"a", tc.a}, {"b", tc.b}} {
				for _, h := range st.hs {
					short.add("f", st.step, h)
					// The full form: every slot, a longer one folded.
					d := full(nil)
					for i, c := range h {
						d[min(i, len(d)-1)] += c
					}
					dense.add("f", st.step, d)
				}
			}
			got, want := short.stepList(cs), dense.stepList(cs)
			if len(got) != len(want) {
				t.Fatalf("%d steps, want %d", len(got), len(want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], want[i]) { // the percentiles' values, not their pointers
					t.Errorf("step %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			var g, w [3]*float64
			g[0], g[1], g[2] = short.service()
			w[0], w[1], w[2] = dense.service()
			if !reflect.DeepEqual(g, w) {
				t.Errorf("service percentiles %v, want %v", g, w)
			}
			for k, h := range short.steps {
				if len(h) > len(short.all) {
					t.Errorf("%v: %d slots, more than %d", k, len(h), len(short.all))
				}
			}
		})
	}
}
