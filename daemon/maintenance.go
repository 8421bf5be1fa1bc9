package daemon

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/config"
)

// MaintenanceAware is an Alerter that holds the alerts of windows detected
// during planned maintenance (the alert package's Notifier). The daemon
// hands it the config's maintenance: windows at New and on every reload.
type MaintenanceAware interface {
	SetMaintenance(plan config.MaintenancePlan)
}

const helpMaintenance = "1 while a configured maintenance window (maintenance:, its service or \"*\") covers now for the service, else 0."

// maintenanceCollector is slaprobe_maintenance{service}: one series per
// configured service, worked out at scrape time from the running config's
// maintenance: windows and the daemon's clock. So it changes exactly at the
// window boundaries and follows a reload, with no timer and nothing on the
// runs' path.
type maintenanceCollector struct {
	desc *prometheus.Desc
	d    *Daemon
}

func newMaintenanceCollector(d *Daemon) maintenanceCollector {
	return maintenanceCollector{desc: prometheus.NewDesc("slaprobe_maintenance", helpMaintenance, []string{"service"}, nil), d: d}
}

func (c maintenanceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c maintenanceCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.d.clock.Now()
	c.d.mu.RLock()
	cfg := c.d.cfg
	c.d.mu.RUnlock()
	if cfg == nil {
		return
	}
	for i := range cfg.Services {
		v := 0.0
		if _, ok := cfg.Maintenance.Cover(cfg.Services[i].Name, now); ok {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, cfg.Services[i].Name)
	}
}
