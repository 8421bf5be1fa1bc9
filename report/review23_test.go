package report

import (
	"context"
	"testing"
	"time"
)

// A slow incident with a down one inside it on the same function (a
// latency degradation with a ten-minute outage in its middle) is
// reconciled each with its own windows: the down window measures the down
// incident, the degraded ones the slow one, every delta 0. What config's
// overlap warning says of two such incidents ("each one's start or end
// delta counts the other's time") does not hold for them.
func TestSlowAroundDownReconciled(t *testing.T) {
	m := time.Minute
	recv := []string{"receive"}
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			cfg := testConfig("UTC", m)
			s := st.open(t)
			load(t, s, cfg, schedule("seoul-a", hm(10, 0), hm(12, 0), m, func(off time.Duration) string {
				switch t := hm(10, 0).Add(off); {
				case t.Before(hm(10, 20)):
					return "slow:receive"
				case t.Before(hm(10, 30)):
					return "fail:receive"
				case t.Before(hm(11, 0)):
					return "slow:receive"
				}
				return "ok"
			}))
			tls := timeline(
				incident("slow", "slow", recv, hm(10, 0), hm(11, 0)),
				incident("down", "error", recv, hm(10, 20), hm(10, 30)),
			)
			rep, err := Build(context.Background(), Input{Config: cfg, Store: s, From: hm(10, 0), To: hm(12, 0), Timelines: tls})
			if err != nil {
				t.Fatal(err)
			}
			checkWants(t, rep, []want{
				{"services.0.reconciliation.0.id", "slow"},
				{"services.0.reconciliation.0.start_delta_seconds", 0},
				{"services.0.reconciliation.0.end_delta_seconds", 0},
				{"services.0.reconciliation.1.id", "down"},
				{"services.0.reconciliation.1.start_delta_seconds", 0},
				{"services.0.reconciliation.1.end_delta_seconds", 0},
				{"services.0.undeclared#", 0},
			})
		})
	}
}
