package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// TestReloaderHoldsBuildsWhileItReads: a report build that asks for its
// turn while a SIGHUP reload reads the config does not begin until the
// reload is done (#11: at 50,000 flows the parse and a build at once made
// the 616 MiB peak). When the file does not load, the build then runs on
// the running config, not superseded; when it does, the build reads the
// new one. A build already in the making while the file is read is not
// ended by the read (TestReloaderRejectsWithoutEndingTheBuild). Before,
// the build began beside the parse.
func TestReloaderHoldsBuildsWhileItReads(t *testing.T) {
	iv := 10 * time.Second
	for _, tc := range []struct {
		name  string
		valid bool
	}{
		{"the file does not load", false},
		{"the file loads", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startDaemon(t, testConfig(iv, "a"), nil)
			old, next := runningConfig(r.d), testConfig(iv, "a", "b")
			began := make(chan *config.Config, 1) // the build, as it begins: the config it sees
			var early *config.Config              // the config of a build begun during the read
			result := make(chan error, 1)
			rl := &Reloader{Daemon: r.d, File: "t.yaml", Load: func() (*config.Config, error) {
				// A build asks for its turn while the file is read.
				go func() {
					result <- r.d.Exclusive(context.Background(), func(context.Context) {
						began <- runningConfig(r.d)
					})
				}()
				time.Sleep(100 * time.Millisecond) // let it ask
				select {
				case early = <-began:
					t.Error("a report build began while the reload read the config")
				default:
				}
				if !tc.valid {
					return config.Parse("t.yaml", []byte(badConfig), config.Options{})
				}
				return next, nil
			}}
			err := rl.Reload(context.Background())
			var errs config.Errors
			if tc.valid != (err == nil) || !tc.valid && !errors.As(err, &errs) {
				t.Errorf("Reload: %v", err)
			}
			want := old
			if tc.valid {
				want = next
			}
			if early == nil {
				select {
				case c := <-began:
					if c != want {
						t.Error("the build that waited read the wrong config")
					}
				case <-time.After(10 * time.Second): // a hang guard, not a speed figure
					t.Fatal("the build held back by the reload never began")
				}
			} else if early != want {
				t.Error("the build read the wrong config")
			}
			if err := <-result; err != nil {
				t.Errorf("the build's Exclusive: %v, want nil", err)
			}
		})
	}
}
