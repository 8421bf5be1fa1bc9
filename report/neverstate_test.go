package report

import (
	"testing"
	"time"
)

// TestWindowStateCarriesNeverSurelyDown: a counted window's
// quorum_never_surely_down reaches its state.Window (the alerts' source:
// the status page's verdict), which dropped it before; its end that may
// yet move too.
func TestWindowStateCarriesNeverSurelyDown(t *testing.T) {
	end := hourStart.Add(4 * time.Second)
	for _, tc := range []struct {
		never, moves bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		w := Window{Service: "messaging", Flow: "chat", Kind: "down", Start: hourStart, End: &end, Locations: []string{"busan-b", "seoul-a"},
			QuorumNeverSurelyDown: tc.never, EndMayMove: tc.moves}
		if sw := w.State(); sw.QuorumNeverSurelyDown != tc.never || sw.EndMayMove != tc.moves {
			t.Errorf("%+v: state window's QuorumNeverSurelyDown %v, EndMayMove %v", tc, sw.QuorumNeverSurelyDown, sw.EndMayMove)
		}
	}
}
