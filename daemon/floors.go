package daemon

import (
	"fmt"

	"github.com/slaprobe/slaprobe/config"
)

// checkIntervals refuses flows scheduled faster than config.MinInterval:
// the scheduler would spin (an interval of 1ns froze the daemon at 100% CPU,
// deaf to SIGTERM). config.Load refuses them already; this covers configs
// built in Go.
func checkIntervals(cfg *config.Config) error {
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			if f.Interval < config.MinInterval {
				return fmt.Errorf("daemon: flow %s: interval %v is below the minimum of %v", f.Name, f.Interval, config.MinInterval)
			}
		}
	}
	return nil
}
