package config

import (
	"net"
	"net/netip"

	"go.yaml.in/yaml/v3"
)

// This file checks that the listeners a daemon opens do not share an
// address: `listen`, `status.listen` and `webhooks.listen` (when the
// callback listener runs) are bound side by side, and a second bind of one
// address fails at start, which `check` would otherwise never say.

// listenAt is one listener's address and where the config gives it (node
// nil for a default).
type listenAt struct {
	key  string
	addr string
	node *yaml.Node
}

// noteListen records an address read for key.
func (p *parser) noteListen(key, addr string, n *yaml.Node) {
	p.listens = append(p.listens, listenAt{key: key, addr: addr, node: n})
}

// listenersApart reports each listener whose address another one already
// takes. The callback listener counts when it runs: with a webhooks block,
// or a flow that needs it.
func (p *parser) listenersApart() {
	c := p.cfg
	all := []listenAt{{key: "listen", addr: c.Listen}}
	if c.Status.Listen != "" {
		all = append(all, listenAt{key: "status.listen", addr: c.Status.Listen})
	}
	if c.Webhooks.Line != 0 || c.UsesWebhooks() {
		all = append(all, listenAt{key: "webhooks.listen", addr: c.Webhooks.Listen})
	}
	for i := range all {
		for _, l := range p.listens {
			if l.key == all[i].key && l.addr == all[i].addr {
				all[i].node = l.node
			}
		}
	}
	for i := 1; i < len(all); i++ {
		for j := 0; j < i; j++ {
			if !sameBind(all[i].addr, all[j].addr) {
				continue
			}
			a, b := all[i], all[j]
			if a.node == nil {
				a, b = b, a // blame the address the config writes
			}
			if a.node == nil {
				continue // two defaults never clash
			}
			p.errf(a.node, a.key, "%q is also %s's address (%q): each listener needs its own port", a.addr, b.key, b.addr)
		}
	}
}

// sameBind reports whether binding both addresses would collide: the same
// port (not 0, which picks a free one) on the same host, or on any host when
// one of them is the wildcard (empty, 0.0.0.0 or ::).
func sameBind(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || pa != pb || pa == "0" {
		return false
	}
	return ha == hb || wildcard(ha) || wildcard(hb)
}

func wildcard(host string) bool {
	if host == "" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsUnspecified()
}
