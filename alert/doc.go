// Package alert is slaprobe's alerting: a Notifier that pushes downtime
// windows from the state machine to Alertmanager's v2 API (firing when a
// window opens, with startsAt backdated to the window start; resolved when it
// closes), and Rules, which generates the Prometheus recording and alerting
// rules (multi-window multi-burn-rate SLO alerts, flow-not-up, prober-down)
// for a config.
//
// The two paths are independent on purpose: the push path alerts within one
// run of a window opening even when Prometheus is down, and the rules path
// keeps alerting (SlaprobeProberDown) when the prober itself is down.
//
// Files: alertmanager.go holds the Notifier and what it keeps (Handle,
// Active); render.go turns a window into an Alert (labels, annotations,
// fingerprint); send.go delivers to every Alertmanager (Tick, Run, backoff);
// statefile.go keeps the alerts across restarts; rules.go generates the
// Prometheus rules.
package alert
