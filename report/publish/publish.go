// Package publish makes the monthly SLA reports on a schedule, keeps them in
// an archive (DIR/2022-10/report.pdf, ...; every version in DIR/2022-10/vN/)
// and delivers them by webhook and e-mail, exactly once.
//
//   - A month's report is made once: its version is recorded in the store
//     (store.Publications) with its pending deliveries in one transaction,
//     and (month, version) is the key, so neither a restart nor a second
//     process makes it again.
//   - A daemon that was down when a report was due makes the missing months
//     when it starts: every month from the first with data on (of
//     reports.backfill months before the first start, and of the months
//     since it, store.Lease.Began: backfill 0 makes those alone), data or
//     not, so that a restart makes no month a first start skipped. A month
//     not made is looked at again by every cycle: one whose making failed
//     (a store error), or one before the first made that results stored
//     late fell in, is made by a later cycle, and the months after it are
//     not held back. Those that ended before the first stored run
//     (store.Earliest) are known empty without a build.
//   - Each run also rebuilds the last completed month and reports.revise
//     months before it; one whose figures changed (late data from another
//     prober, a corrected timeline) gets a new version that says what
//     changed, and is delivered again.
//   - What counts as a change is the month's canonical figures (canonical;
//     their digest is the version's Canon, "c1:..."): every key of
//     report.json that canonKeys names (the numbers, times, verdicts,
//     credits, windows' bounds, latencies, run counts, maintenance,
//     reconciliation, as the report had them when the form was made), the
//     policy's values, and the accounting its sentences state of the
//     config (the measured flows' own down_after/up_after, confirm runs on
//     or off, sessions' ttl); of the report as measured (a flow without
//     runs, a service without data added since, are not compared, see
//     measured), in flow-name order. Not a change: the time it was made,
//     the policy's wording, the title, a reason's wording (canonCodes), a
//     key a later release adds to the report, a flow's being retired. So
//     an upgrade alone makes no new version. A version made before the
//     form (no Canon: store schema version 13 or older) is compared in the
//     forms its Digest was made in (legacyDigests), the report written as
//     that release wrote it (legacyForms: stop 39's and stop 38's; an
//     older release's makes one new version), and given its Canon once
//     found unchanged; its "what changed" is compared likewise.
//   - Probers sharing one database publish through one of them: the
//     publisher lease (store.Publications.ClaimPublisher) names the prober,
//     by location, that makes and delivers the versions; the others make
//     nothing and deliver nothing, and take the lease over when its holder
//     stops renewing it (see lead). Two probers with different configs
//     would otherwise each find the other's version different from their
//     own build and revise it, one version after another.
//   - Deliveries are retried with exponential backoff; every attempt's
//     outcome is recorded, so a restart resumes them and never repeats a
//     delivered one. A crash in the middle of an attempt may repeat that one
//     attempt: webhooks carry an Idempotency-Key and mails a stable
//     Message-ID so that receivers can tell.
//
// Reports come from report.Build (the same accounting as `slaprobe report`)
// and report/render.
package publish

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/slaprobe/slaprobe/clock"
	"github.com/slaprobe/slaprobe/config"
	"github.com/slaprobe/slaprobe/internal/gocron"
	"github.com/slaprobe/slaprobe/report"
	"github.com/slaprobe/slaprobe/report/render"
	"github.com/slaprobe/slaprobe/store"
)

// Store is what the publisher needs of the store: results for the reports,
// and the version and delivery records.
type Store interface {
	store.Store
	store.Publications
}

// Options are what the publisher is given rather than makes.
type Options struct {
	Store    Store                // required
	Clock    clock.Clock          // nil: clock.Real
	Logger   *slog.Logger         // nil: discard
	Registry *prometheus.Registry // nil: metrics are not registered anywhere
	// Channels overrides the delivery channels built from the config (tests).
	Channels func(cfg *config.Config) []Channel
	// PollEvery is how often due deliveries are looked for; default 1s.
	PollEvery time.Duration
	// AttemptTimeout bounds one delivery attempt (connect, send, answer);
	// default 2m.
	AttemptTimeout time.Duration
	// LeaseCheck is how often Run renews the publisher lease (its holder)
	// or looks at it (the others); default 20s. LeaseStale is how long
	// another prober's lease must stay unchanged, on this prober's clock,
	// before this one takes it over; default 2m. Both are fixed, not
	// config keys: tests set them.
	LeaseCheck, LeaseStale time.Duration
}

// The publisher lease's timing: its holder renews it every leaseCheck;
// another prober takes it over once it has seen it unchanged for
// leaseStale, so within leaseStale + 2 leaseCheck of its holder's last
// renewal (at once, at its next look, when the holder released it).
const (
	leaseCheck = 20 * time.Second
	leaseStale = 2 * time.Minute
)

// Publisher makes, archives and delivers the monthly reports.
type Publisher struct {
	opts Options
	log  *slog.Logger
	clk  clock.Clock

	generated  prometheus.Counter
	deliveries *prometheus.CounterVec
	publishing prometheus.Gauge

	me string // this prober's location: its name in the publisher lease

	leaseMu sync.Mutex  // guards the lease state below; held across a claim
	holding bool        // this prober holds the lease (as of checked)
	checked time.Time   // when the lease was last claimed or renewed
	seen    store.Lease // another prober's lease as last seen
	seenAt  time.Time   // when seen was first seen as it is
	took    bool        // the role was taken (over) and no cycle has begun since
	beat    int64       // the lease's beat after this prober's last claim
	twin    bool        // another process claims under this location (logged once)
	began   time.Time   // the lease's Began as of the last claim that held it

	mu  sync.Mutex // guards cfg and the schedule below
	cfg *config.Config

	// The running cron job (nil until Run starts it): SetConfig moves it to
	// a reloaded reports.schedule or timezone.
	sched   gocron.Scheduler
	job     gocron.Job
	task    gocron.Task
	crontab string

	wake chan struct{} // a new version has deliveries
}

// New builds a publisher for cfg (cfg.Reports.Enabled must be set).
func New(cfg *config.Config, opts Options) (*Publisher, error) {
	if cfg == nil || opts.Store == nil {
		return nil, errors.New("publish: a config and a store are required")
	}
	if !cfg.Reports.Enabled {
		return nil, errors.New("publish: the config has no reports: block")
	}
	if cfg.Reports.Archive == "" {
		return nil, errors.New("publish: reports.archive is not set")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PollEvery <= 0 {
		opts.PollEvery = time.Second
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = attemptTimeout
	}
	if opts.Channels == nil {
		opts.Channels = Channels
	}
	if opts.LeaseCheck <= 0 {
		opts.LeaseCheck = leaseCheck
	}
	if opts.LeaseStale <= 0 {
		opts.LeaseStale = leaseStale
	}
	if cfg.Location == "" {
		return nil, errors.New("publish: the config has no location")
	}
	p := &Publisher{opts: opts, log: opts.Logger, clk: opts.Clock, cfg: cfg, me: cfg.Location, wake: make(chan struct{}, 1)}
	p.generated = prometheus.NewCounter(prometheus.CounterOpts{Name: "slaprobe_reports_generated_total",
		Help: "Monthly report versions made by the scheduled publisher (a revised month counts again)."})
	p.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "slaprobe_report_deliveries_total",
		Help: "Report delivery attempts by channel (webhook, email) and result (delivered, retry: failed and will be retried, failed: given up)."},
		[]string{"channel", "result"})
	p.publishing = prometheus.NewGauge(prometheus.GaugeOpts{Name: "slaprobe_reports_publishing",
		Help:        "1 while this prober holds the publisher lease (it makes and delivers the reports of its database), 0 while another prober does or the database cannot be reached.",
		ConstLabels: prometheus.Labels{"location": cfg.Location}})
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{p.generated, p.deliveries, p.publishing} {
			if err := opts.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("publish: registering metrics: %w", err)
			}
		}
	}
	p.zeroDeliveries(cfg)
	return p, nil
}

// deliveryResults are the result label values of slaprobe_report_deliveries_total.
var deliveryResults = [...]string{"delivered", "retry", "failed"}

// zeroDeliveries gives every result of every channel cfg configures a
// series at 0: a counter that first appears at 1 is invisible to
// increase(), and a monthly delivery fails about once a month.
func (p *Publisher) zeroDeliveries(cfg *config.Config) {
	for _, ch := range p.opts.Channels(cfg) {
		for _, r := range deliveryResults {
			p.deliveries.WithLabelValues(ch.Kind(), r)
		}
	}
}

// SetConfig switches to a reloaded config (channels, formats, revise,
// retry, schedule, time zone, ...). A changed reports.schedule or timezone
// moves the running cron job at once. The archive stays until a restart
// (the daemon's reload warns that reports.archive needs one): the status
// page lists the archive the process started with, and the versions made so
// far are there. A config without reports: is ignored (the publisher runs
// on until a restart).
func (p *Publisher) SetConfig(cfg *config.Config) {
	if cfg == nil || !cfg.Reports.Enabled {
		return
	}
	p.zeroDeliveries(cfg)
	p.mu.Lock()
	defer p.mu.Unlock()
	if cfg.Reports.Archive != p.cfg.Reports.Archive {
		c := *cfg
		c.Reports.Archive = p.cfg.Reports.Archive
		cfg = &c
	}
	p.cfg = cfg
	tab := crontab(cfg)
	if p.job == nil || tab == p.crontab {
		return
	}
	j, err := p.sched.Update(p.job.ID(), gocron.CronJob(tab, false), p.task, jobOptions()...)
	if err != nil {
		// config.Parse validated the schedule: not expected; keep the old one.
		p.log.Error("report schedule not changed", "schedule", cfg.Reports.Schedule, "timezone", cfg.Timezone, "err", err)
		return
	}
	p.job, p.crontab = j, tab
	p.log.Info("report schedule changed", "schedule", cfg.Reports.Schedule, "timezone", cfg.Timezone)
}

// crontab is cfg's reports.schedule in cfg's time zone, in the form gocron
// takes it (CRON_TZ= overrides the scheduler's location, so a reload can
// change the zone of the one job).
func crontab(cfg *config.Config) string {
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	return "CRON_TZ=" + loc.String() + " " + cfg.Reports.Schedule
}

func jobOptions() []gocron.JobOption {
	// wallCron: a firing whose wall time the clocks skip runs at the end
	// of the jump (gocron's cron skips it, and its RunAfterTransition
	// policy moves it before the jump when the skipped time is midnight).
	return []gocron.JobOption{gocron.WithName("monthly-reports"), gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithCronImplementation(&wallCron{})}
}

func (p *Publisher) config() *config.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// Run makes the missing months now, then on the schedule, and delivers until
// ctx is done. The scheduler is stopped (a cycle in progress finishes)
// before Run returns.
func (p *Publisher) Run(ctx context.Context) error {
	cfg := p.config()
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	var cw clockwork.Clock = clockwork.NewRealClock()
	if c, ok := p.clk.(interface{ Clockwork() clockwork.Clock }); ok {
		cw = c.Clockwork()
	}
	s, err := gocron.NewScheduler(gocron.WithLocation(loc), gocron.WithClock(cw), gocron.WithStopTimeout(time.Minute))
	if err != nil {
		return fmt.Errorf("publish: scheduler: %w", err)
	}
	task := gocron.NewTask(func() {
		if err := p.Cycle(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("scheduled reports", "err", err)
		}
	})
	tab := crontab(cfg)
	j, err := s.NewJob(gocron.CronJob(tab, false), task, jobOptions()...)
	if err != nil {
		return fmt.Errorf("publish: schedule %q: %w", cfg.Reports.Schedule, err)
	}
	p.mu.Lock()
	p.sched, p.job, p.task, p.crontab = s, j, task, tab
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.job = nil // SetConfig leaves a stopped scheduler alone
		p.mu.Unlock()
	}()
	// The startup cycle runs beside the delivery loop: just after a
	// month's end it waits for the month's last runs (settle, up to two
	// hours with hourly flows), and the deliveries already due must not
	// wait with it. The schedule starts after it, so that two cycles
	// never run at once.
	//
	// The publisher lease is renewed beside both, from the start: a
	// startup cycle may wait hours for the month's last runs, and a
	// delivery attempt minutes.
	startup := make(chan struct{})
	leaseDone := make(chan struct{})
	go func() {
		defer close(leaseDone)
		p.leaseLoop(ctx, startup)
	}()
	go func() {
		defer close(startup)
		if err := p.Cycle(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("reports at startup", "err", err)
		}
		s.Start()
	}()
	p.deliverLoop(ctx)
	<-startup
	if err := s.Shutdown(); err != nil {
		p.log.Warn("report scheduler shutdown", "err", err)
	}
	<-leaseDone
	p.release(ctx)
	return nil
}

// lastCompleted is the month before now's, in loc.
func lastCompleted(now time.Time, loc *time.Location) time.Time {
	n := now.In(loc)
	return report.DayStart(n.Year(), n.Month()-1, 1, loc)
}

// Cycle makes every month that is due and not made, and rebuilds the months
// under revision; what Run does at startup and on the schedule. It does
// nothing on a prober that does not hold the publisher lease (see lead).
func (p *Publisher) Cycle(ctx context.Context) error {
	if ok, err := p.lead(ctx, false); err != nil {
		return err
	} else if !ok {
		p.log.Info("reports not made here: another prober publishes them", "location", p.me, "publisher", p.publisher())
		return nil
	}
	p.leaseMu.Lock()
	p.took = false // this cycle makes what is due
	p.leaseMu.Unlock()
	cfg := p.config()
	loc := cfg.Loc
	if loc == nil {
		loc = time.UTC
	}
	now := p.clk.Now()
	last := lastCompleted(now, loc)
	// A month that has only just ended may still have runs in flight that
	// began before its end, or in the store writer's batch: built now, it
	// would lack them, and the next cycle would make a second version of
	// a finished month. Wait until they are all in.
	if in := report.DayStart(last.Year(), last.Month()+1, 1, loc).Add(settle(cfg)); now.Before(in) {
		p.log.Info("waiting for the month's last runs before its report", "month", last.Format("2006-01"), "until", in)
		if err := p.clk.Sleep(ctx, in.Sub(now)); err != nil {
			return err
		}
		now = p.clk.Now()
		if ok, err := p.lead(ctx, false); err != nil || !ok {
			return err // taken over while waiting: the new publisher makes them
		}
	}
	versions, err := p.opts.Store.ReportVersions(ctx, "")
	if err != nil {
		return err
	}
	made := map[string]bool{}
	first, latest := "", ""
	for _, v := range versions {
		made[v.Month] = true
		latest = max(latest, v.Month)
		if first == "" || v.Month < first {
			first = v.Month
		}
	}
	// Months as "YYYY-MM", counted back from the last completed one.
	back := func(i int) string {
		return time.Date(last.Year(), last.Month()-time.Month(i), 1, 12, 0, 0, 0, time.UTC).Format("2006-01")
	}
	// The months not made yet that are due, looked at again by every
	// cycle until made: those of reports.backfill (before the archive
	// began, results stored late, a spool or another prober's, make the
	// month they fell in), every month since the publishing began (the
	// month of the first start on: with backfill 0 these alone, the
	// months that ended while slaprobe ran), every month after the first
	// made (one whose making failed, a store error, is no hole for good)
	// and after the last made; then the months under revision.
	var months []string
	due := func(m string) {
		if !made[m] && !slices.Contains(months, m) {
			months = append(months, m)
		}
	}
	for i := cfg.Reports.Backfill - 1; i >= 0; i-- {
		due(back(i))
	}
	p.leaseMu.Lock()
	began := p.began
	p.leaseMu.Unlock()
	if !began.IsZero() {
		b := began.In(loc)
		since := time.Date(b.Year(), b.Month(), 1, 12, 0, 0, 0, time.UTC).Format("2006-01")
		for i := 0; back(i) >= since; i++ {
			due(back(i))
		}
	}
	for i := 0; first != "" && back(i) > first; i++ {
		due(back(i))
	}
	for i := cfg.Reports.Revise; i >= 0; i-- {
		if m := back(i); made[m] {
			months = append(months, m)
		}
	}
	sort.Strings(months)
	// The archive begins with the first month that has data (the months of
	// reports.backfill before it are not made: the prober had not begun);
	// from there on every month is made, data or not, since a month the
	// prober was down for entirely is one to say so of (no data), by a
	// first start as by a later one.
	begun := false
	var empty []string // months before the first with data: not made
	defer func() {
		if len(empty) > 0 {
			p.log.Info("no data for the month: no report", "months", monthSpans(empty), "count", len(empty))
		}
	}()
	// A month that ended before the first stored run has no data: not
	// built (a report.Build each, every cycle: 118 of them with backfill
	// 120 and the data in the last two months), but answered as make
	// would answer it, unless even an empty month is due. One query
	// (store.Earliest) for all of them, asked at the first.
	var (
		noneBefore time.Time // no run is stored before it; zero: not known
		asked      bool
	)
	noData := func(m string) bool {
		if !asked {
			asked = true
			first, err := p.opts.Store.Earliest(ctx)
			switch {
			case err != nil:
				p.log.Warn("first stored run not known: every month not made is built to tell whether it has data", "err", err)
			case first.IsZero():
				noneBefore = now // nothing stored: every completed month is empty
			default:
				noneBefore = first
			}
		}
		_, end, err := report.MonthRange(m, loc)
		return err == nil && !noneBefore.IsZero() && !end.After(noneBefore)
	}
	var errs []error
	for i, m := range months {
		if ctx.Err() != nil {
			p.log.Info("stopping: the months not begun are made at the next start", "months", strings.Join(months[i:], ", "))
			break
		}
		always := made[m] || begun || (first != "" && m > first)
		if !always && noData(m) {
			empty = append(empty, m)
			continue
		}
		if ok, err := p.lead(ctx, false); err != nil || !ok {
			errs = append(errs, err)
			break
		}
		// A month begun is finished at a stop, as a report in the making
		// is (README): cut short, its files were written to the archive
		// and served, but its version not recorded nor its deliveries
		// queued until the next start made it again.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), makeGrace)
		err := p.make(mctx, cfg, m, always)
		cancel()
		switch {
		case errors.Is(err, errNoData):
			empty = append(empty, m)
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", m, err))
		default:
			begun = true
		}
	}
	return errors.Join(errs...)
}

// monthSpans writes sorted months ("YYYY-MM") with runs of consecutive
// ones as first..last: "2021-12..2022-08, 2022-11".
func monthSpans(months []string) string {
	next := func(m string) string {
		t, err := time.Parse("2006-01", m)
		if err != nil {
			return ""
		}
		return t.AddDate(0, 1, 0).Format("2006-01")
	}
	var b strings.Builder
	for i := 0; i < len(months); {
		j := i
		for j+1 < len(months) && months[j+1] == next(months[j]) {
			j++
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(months[i])
		if j > i {
			b.WriteString("..")
			b.WriteString(months[j])
		}
		i = j + 1
	}
	return b.String()
}

// makeGrace bounds the making of a month that a stop came during: a store
// that stopped answering must not hold the stop longer.
const makeGrace = 30 * time.Second

// settle is how long after a period's end its figures may still change: a
// run that began just before the end lasts up to its flow's timeout (twice
// that with teardown steps, which have their own) and the store writer
// commits it within a second; and whether the time after the period's last
// run is unknown is known once two intervals have passed without a run
// (report.Build); and a failure that began in the month's last run is a
// window only at its down_after-th failed run, backdated to it (a recovery
// ends one at its up_after-th pass, likewise): down_after-1 (or up_after-1)
// spacings (confirm_every when on and shorter, else the interval) and that
// run's timeout later (down_after 3 every 10 minutes, timeout 30 s: up to
// 20 min 30 s after the end, where two intervals and 5 s built version 1
// with the month's last seconds up and the next cycle a version 2 with
// them down). 5 s of margin.
func settle(cfg *config.Config) time.Duration {
	d := 2 * cfg.MaxInterval()
	for _, s := range cfg.Services {
		for _, f := range s.Flows {
			t := f.Timeout
			if len(f.Teardown) > 0 {
				t *= 2
			}
			every := f.Interval
			if f.ConfirmEvery > 0 && f.ConfirmEvery < every {
				every = f.ConfirmEvery
			}
			d = max(d, time.Duration(max(f.DownAfter, f.UpAfter, 1)-1)*every+t)
		}
	}
	return d + 5*time.Second
}

// figures is what a version's digest is computed from: the whole report
// but the time it was made, but whether a flow is in today's config, and
// but what the flows no run measured in the period add to it (measured).
//
// A flow removed or renamed after the month was made is accounted as
// retired, with the same figures, listed after the configured ones
// (report.Flow.Retired). So each service's flows, and the steps and
// unknown stretches listed flow by flow, are in flow-name order here, and
// Retired is not compared: removing a flow on November 2 made a version 2
// of October whose figures were version 1's.
//
// prev and legacy are the digest's input as versions made before had it:
// prev as it is here but with every flow (before flows without a run were
// left out), legacy the report as it is (before the order and Retired were
// left out). A version whose digest is any of the three is unchanged, so
// that upgrading makes no new version of a month whose flows were not in
// name order, or that listed a flow without runs.
func figures(cfg *config.Config, r *report.Report) (fig, prev, legacy []byte, err error) {
	return figuresAs(cfg, r, nil)
}

// figuresAs is figures with as (nil: none) applied to each report before it
// is written: legacyDigests' way of writing them as an earlier slaprobe
// did.
func figuresAs(cfg *config.Config, r *report.Report, as func(*report.Report) *report.Report) (fig, prev, legacy []byte, err error) {
	if as == nil {
		as = func(r *report.Report) *report.Report { return r }
	}
	c := *r
	c.Generated = time.Time{}
	if legacy, err = json.Marshal(as(&c)); err != nil {
		return nil, nil, nil, err
	}
	if prev, err = json.Marshal(as(inNameOrder(&c))); err != nil {
		return nil, nil, nil, err
	}
	fig, err = json.Marshal(as(inNameOrder(measured(cfg, &c))))
	return fig, prev, legacy, err
}

// inNameOrder is a copy of r with each service's flows, steps and unknown
// stretches in flow-name order, and Retired cleared.
func inNameOrder(r *report.Report) *report.Report {
	c := *r
	c.Services = slices.Clone(r.Services)
	for i := range c.Services {
		s := &c.Services[i]
		s.Flows = slices.Clone(s.Flows)
		for j := range s.Flows {
			s.Flows[j].Retired = false
		}
		slices.SortStableFunc(s.Flows, func(a, b report.Flow) int { return strings.Compare(a.Name, b.Name) })
		s.Steps = slices.Clone(s.Steps)
		slices.SortStableFunc(s.Steps, func(a, b report.StepLatency) int { return strings.Compare(a.Flow, b.Flow) })
		s.Unknown = slices.Clone(s.Unknown)
		slices.SortStableFunc(s.Unknown, func(a, b report.Span) int { return strings.Compare(a.Flow, b.Flow) })
	}
	return &c
}

// measured is r, made with cfg, without what the flows that nothing
// measured in the period add to it: a flow without a run, a confirm run
// or a window. A flow added (or a flow's new name) is listed in a month
// it was not measured in without runs: its row, its steps without
// latencies, the whole month unknown for it, and, with its own down_after
// or confirm_every, a sentence of the policy. None of it counts in the
// service's figures (a flow without data does not count against its
// service), yet adding inbox on November 2 made October's version 2,
// "figures as in version 1; details changed: messaging: latencies;
// messaging: run counts; messaging: unknown stretches; policy". So such a
// flow's row, steps and unknown stretches are left out, and the policy is
// the one cfg without it states. A flow that had runs and lost them is in
// the version made with them, so that is a change. The reconciliation and
// the undeclared windows are of windows, which such a flow has none of;
// function rows (report.Service.Functions) are not in a published report.
// r itself is not changed.
func measured(cfg *config.Config, r *report.Report) *report.Report {
	c := *r
	c.Services = slices.Clone(r.Services)
	unmeasured := map[string]map[string]bool{} // service: flows
	for i := range c.Services {
		s := &c.Services[i]
		windows := map[string]bool{}
		for _, ws := range [][]report.Window{s.Windows, s.BelowQuorum} {
			for _, w := range ws {
				windows[w.Flow] = true
			}
		}
		out := map[string]bool{}
		for _, f := range s.Flows {
			if f.Runs == 0 && f.ConfirmRuns == 0 && !windows[f.Name] {
				out[f.Name] = true
			}
		}
		if len(out) == 0 {
			continue
		}
		unmeasured[s.Name] = out
		s.Flows = slices.DeleteFunc(slices.Clone(s.Flows), func(f report.Flow) bool { return out[f.Name] })
		s.Steps = slices.DeleteFunc(slices.Clone(s.Steps), func(x report.StepLatency) bool { return out[x.Flow] })
		s.Unknown = slices.DeleteFunc(slices.Clone(s.Unknown), func(x report.Span) bool { return out[x.Flow] })
	}
	// A service none of whose flows was measured, with no maintenance
	// window and no declared incident in the period (a service added after
	// the month was made), is left out whole, as its flows are: its row
	// says no data and counts nothing, yet adding mail on November 2 made
	// October's version 2, "mail: new service", delivered again.
	c.Services = slices.DeleteFunc(c.Services, func(s report.Service) bool {
		return len(unmeasured[s.Name]) > 0 && len(s.Flows) == 0 && len(s.Maintenance) == 0 && len(s.Reconciliation) == 0
	})
	if len(unmeasured) > 0 {
		m := *cfg
		m.Services = slices.Clone(cfg.Services)
		for i := range m.Services {
			s := &m.Services[i]
			out := unmeasured[s.Name]
			s.Flows = slices.DeleteFunc(slices.Clone(s.Flows), func(f config.Flow) bool { return out[f.Name] })
		}
		c.Policy = report.PolicyOf(&m)
	}
	return &c
}

// errNoData is make's answer for a month never made that has no run in
// it, when not always: it is not made.
var errNoData = errors.New("no data for the month")

// make builds month; a first version only with data (errNoData) unless
// even an empty month is due (always: the archive has begun, see Cycle),
// a new version only when the figures changed.
func (p *Publisher) make(ctx context.Context, cfg *config.Config, month string, always bool) error {
	from, to, err := report.MonthRange(month, cfg.Loc)
	if err != nil {
		return err
	}
	now := p.clk.Now()
	prev, err := p.opts.Store.ReportVersions(ctx, month)
	if err != nil {
		return err
	}
	if len(prev) > 0 {
		// A month made before its results were pruned
		// (storage.hour_retention) keeps its last version: rebuilt from
		// what is left, it would lose its outages and runs to the
		// retention, not to anything that happened.
		h, err := p.opts.Store.Horizon(ctx)
		if err != nil {
			return err
		}
		if h.Hour.After(from) {
			p.log.Info("month partly pruned (storage.hour_retention): not revised", "month", month, "pruned_before", h.Hour)
			return nil
		}
	}
	rep, err := report.Build(ctx, report.Input{Config: cfg, Store: p.opts.Store, From: from, To: to, Now: now, Timelines: cfg.Timelines})
	if err != nil {
		return err
	}
	var runs int64
	for _, s := range rep.Services {
		runs += s.Runs
	}
	if len(prev) == 0 && runs == 0 && !always {
		return errNoData
	}
	canon, err := canonDigest(cfg, rep)
	if err != nil {
		return err
	}
	fig, _, _, err := figures(cfg, rep)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(fig)
	digest := hex.EncodeToString(sum[:])
	version, changes := 1, ""
	if n := len(prev); n > 0 {
		last := prev[n-1]
		same := last.Canon == canon
		if last.Canon == "" {
			// Made before the canonical form (schema version 14):
			// compared in the forms it was made in. Found unchanged, it
			// is given its canonical digest, so that a later release,
			// which may word or extend the report otherwise again,
			// compares it as it compares the versions made since.
			legacy, err := legacyDigests(cfg, rep)
			if err != nil {
				return err
			}
			if same = slices.Contains(legacy, last.Digest); same {
				if err := p.opts.Store.SetReportCanon(ctx, p.me, month, last.Version, canon); errors.Is(err, store.ErrNotPublisher) {
					p.leaseMu.Lock()
					p.checked = time.Time{} // ask the store at the next lead
					p.leaseMu.Unlock()
					return nil // the new publisher decides
				} else if err != nil {
					return err
				}
				p.log.Info("report version made before the canonical form found unchanged: its canonical digest recorded", "month", month, "version", last.Version)
			}
		}
		if same {
			if last.Maker != "" && last.Maker != p.me && !p.archived(cfg, last) {
				// Unchanged, made by the prober this one took the role
				// over from, in that prober's archive: the same figures
				// (the digest), rendered here, so that its pending
				// deliveries have their files.
				if _, _, err := p.archive(cfg, month, last.Version, rep, last.Changes); err != nil {
					return err
				}
				p.log.Info("report version made by another prober archived here too, for its deliveries", "month", month, "version", last.Version,
					"maker", last.Maker, "location", p.me)
			}
			return nil // unchanged
		}
		version = prev[n-1].Version + 1
		changes = p.changesFrom(cfg, month, prev[n-1].Version, prev[n-1].Figures, rep)
		if by := prev[n-1].Maker; by != "" && by != p.me {
			// The publisher role moved (a takeover): what this prober's
			// config counts differently from the maker's (a maintenance
			// window, a timeline) is a change too, and says so.
			changes += fmt.Sprintf("\nmade by prober %s; version %d by %s", p.me, prev[n-1].Version, by)
			p.log.Warn("revising a version another prober made: a difference between their configs shows as a change",
				"month", month, "version", version, "location", p.me, "previous_maker", by)
		}
	}
	files, kept, err := p.archive(cfg, month, version, rep, changes)
	if err != nil {
		return err
	}
	v := store.ReportVersion{Month: month, Version: version, Generated: now, Digest: digest, Canon: canon, Changes: changes, Files: files, Maker: p.me, Figures: string(kept)}
	var ds []store.Delivery
	for _, ch := range p.opts.Channels(cfg) {
		ds = append(ds, store.Delivery{Channel: ch.Kind(), Target: ch.Target(), Next: now})
	}
	if err := p.opts.Store.AddReportVersion(ctx, v, ds); err != nil {
		if errors.Is(err, store.ErrVersionExists) {
			p.log.Info("report version made by another process", "month", month, "version", version)
			return nil
		}
		if errors.Is(err, store.ErrNotPublisher) {
			// Taken over while building: the new publisher decides; the
			// files written for it stay in this prober's archive unused.
			p.log.Warn("report version not recorded: another prober took the publisher role over", "month", month, "version", version, "location", p.me)
			p.leaseMu.Lock()
			p.checked = time.Time{} // ask the store at the next lead
			p.leaseMu.Unlock()
			return nil
		}
		return err
	}
	p.generated.Inc()
	p.log.Info("report made", "month", month, "version", version, "files", len(files), "deliveries", len(ds), "location", p.me)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// archived tells whether v is in cfg's archive: every file, and the
// figures the store recorded for it.
func (p *Publisher) archived(cfg *config.Config, v store.ReportVersion) bool {
	root, err := os.OpenRoot(cfg.Reports.Archive)
	if err != nil {
		return false
	}
	defer root.Close()
	fig, err := root.ReadFile(filepath.Join(v.Month, fmt.Sprintf("v%d", v.Version), figuresFile))
	if err != nil || (v.Figures != "" && string(fig) != v.Figures) {
		return false // not there, or another version of that number (made here, not recorded)
	}
	for _, f := range v.Files {
		if _, err := root.Stat(filepath.FromSlash(f)); err != nil {
			return false
		}
	}
	return true
}

// figuresFile keeps each version's figures beside its files, for the next
// version's "what changed".
const figuresFile = "figures.json"

// archive renders rep into DIR/month/vN/ and copies the files to DIR/month/
// (the latest version's place), each write atomic. It returns the paths of
// the version's files relative to DIR, and its figures.json. Everything is written through an
// os.Root of DIR: a symbolic link in the archive that leads out of it
// (DIR/2022-10 -> /etc) is an error, not a place to write.
func (p *Publisher) archive(cfg *config.Config, month string, version int, rep *report.Report, changes string) (files []string, fig []byte, err error) {
	dir := cfg.Reports.Archive
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("publish: archive: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("publish: archive: %w", err)
	}
	defer root.Close()
	vdir := filepath.Join(month, fmt.Sprintf("v%d", version))
	if err := root.MkdirAll(vdir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("publish: archive %s: %w", dir, err)
	}
	for _, f := range cfg.Reports.Formats {
		name := "report." + f
		if err := writeAtomic(root, filepath.Join(vdir, name), func(w *os.File) error { return render.Write(w, rep, f, render.PDFOptions{FontPath: cfg.Report.Font}) }); err != nil {
			return nil, nil, fmt.Errorf("publish: %s: %w", name, err)
		}
		files = append(files, filepath.ToSlash(filepath.Join(vdir, name)))
	}
	details, err := canonDetails(cfg, rep)
	if err != nil {
		return nil, nil, err
	}
	fig, err = json.MarshalIndent(figuresOf{summaryOf(rep), details, canonDetailsForm}, "", "  ")
	if err != nil {
		return nil, nil, err
	}
	if err := writeAtomic(root, filepath.Join(vdir, figuresFile), func(w *os.File) error { _, err := w.Write(fig); return err }); err != nil {
		return nil, nil, err
	}
	if changes != "" {
		if err := writeAtomic(root, filepath.Join(vdir, "CHANGES.txt"), func(w *os.File) error { _, err := w.WriteString(changes + "\n"); return err }); err != nil {
			return nil, nil, err
		}
	}
	for _, f := range cfg.Reports.Formats {
		name := "report." + f
		data, err := root.ReadFile(filepath.Join(vdir, name))
		if err != nil {
			return nil, nil, err
		}
		if err := writeAtomic(root, filepath.Join(month, name), func(w *os.File) error { _, err := w.Write(data); return err }); err != nil {
			return nil, nil, err
		}
	}
	return files, fig, nil
}

// writeAtomic writes name (relative to root) through a temporary file in
// the same directory and renames it into place.
func writeAtomic(root *os.Root, name string, write func(*os.File) error) (err error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmpName := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+"."+hex.EncodeToString(rnd[:]))
	tmp, err := root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			root.Remove(tmpName) //nolint:errcheck // best effort
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return root.Rename(tmpName, name)
}
