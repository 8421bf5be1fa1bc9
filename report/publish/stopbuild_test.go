package publish

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/store"
)

// stopDuringRecord is a store whose first AddReportVersion comes with the
// stop: the daemon's SIGTERM while a month is being made.
type stopDuringRecord struct {
	Store
	stop context.CancelFunc
}

func (s *stopDuringRecord) AddReportVersion(ctx context.Context, v store.ReportVersion, ds []store.Delivery) error {
	s.stop()
	return s.Store.AddReportVersion(ctx, v, ds)
}

// TestStopDuringAReportInTheMaking: a stop while a month's report is being
// made lets that month finish (recorded, its deliveries queued), as the
// README says of a report in the making, and begins no other (the next
// start makes it). Before, the month's files were written to the archive,
// and served under /reports/, but its version was not recorded ("store:
// begin: context canceled", dropped unlogged since the context was done),
// nor delivered until the next start made it again: seen stopping a
// prober 0.55 s after its start with a year to backfill (the black box C
// of stop 40).
func TestStopDuringAReportInTheMaking(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(filepath.Join(dir, "reports")) // backfill 2: September and October
	s := openStore(t, dir)
	sep := time.Date(2022, 9, 1, 0, 0, 0, 0, cfg.Loc)
	fill(t, s, sep, sep.AddDate(0, 2, 0))
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	p, err := New(cfg, Options{Store: &stopDuringRecord{Store: s, stop: stop}, Clock: clock.NewManual(sep.AddDate(0, 2, 2)),
		Channels: func(*config.Config) []Channel {
			return []Channel{&fakeChannel{kind: "webhook", target: "http://127.0.0.1:1/in"}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	cycleErr := p.Cycle(ctx)
	for month, want := range map[string]int{"2022-09": 1, "2022-10": 0} {
		vs, err := s.ReportVersions(context.Background(), month)
		if err != nil {
			t.Fatal(err)
		}
		_, statErr := os.Stat(filepath.Join(cfg.Reports.Archive, month, "report.json"))
		if len(vs) != want || (statErr == nil) != (want == 1) {
			t.Errorf("a stop while 2022-09 was in the making: %s has %d versions recorded and its report.json in the archive: %v, want %d and %v; Cycle: %v",
				month, len(vs), statErr == nil, want, want == 1, cycleErr)
		}
	}
	ds, err := s.PendingDeliveries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Month != "2022-09" {
		t.Errorf("deliveries queued: %+v, want September's one", ds)
	}
}
