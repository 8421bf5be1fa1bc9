// Package dashboards holds the Grafana dashboards shipped with slaprobe. They
// use only the metrics the daemon exports (DESIGN "Metrics") and the recording
// rules that `slaprobe rules` generates, templated by service, flow and
// location; import them into Grafana as they are.
package dashboards

import "embed"

//go:embed slaprobe.json
var files embed.FS

// Slaprobe returns the main dashboard (Grafana JSON model): availability
// against objective, error budget burn, success and latency per step and per
// HTTP phase, open windows, planned maintenance (a state timeline, and
// an annotation over the time panels), and the prober's own health.
func Slaprobe() []byte {
	b, err := files.ReadFile("slaprobe.json")
	if err != nil {
		panic("dashboards: slaprobe.json not embedded: " + err.Error()) // a build error, not a runtime one
	}
	return b
}
