package alert

import "github.com/slaprobe/slaprobe/state"

// SetFleetChange sets f, called (without the notifier's lock, from
// Handle) when, in a fleet, this prober's own down or degraded window
// opens or closes: the fleet's verdict may change with it, and the daemon
// asks for it sooner than the next rebuild (statuspage.Page.Kick). nil:
// none.
func (n *Notifier) SetFleetChange(f func()) {
	if f == nil {
		n.fleetChange.Store(nil)
		return
	}
	n.fleetChange.Store(&f)
}

// fleetChanged calls the SetFleetChange function when evs open or close a
// down or degraded window. Not with n.mu held.
func (n *Notifier) fleetChanged(evs []state.Event) {
	f := n.fleetChange.Load()
	if f == nil {
		return
	}
	for _, ev := range evs {
		if (ev.Op == state.OpOpen || ev.Op == state.OpClose) && (ev.Window.Kind == state.KindDown || ev.Window.Kind == state.KindDegraded) {
			(*f)()
			return
		}
	}
}
