package render

import (
	"fmt"
	"time"

	"github.com/slaprobe/slaprobe/report"
)

// kst is a fixed +09:00 zone for building fixture instants; the fixtures
// hold times in UTC so the tests prove the renderers convert to the zone.
var kst = time.FixedZone("KST", 9*3600)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, kst)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func ptr[T any](v T) *T { return &v }

func days(n int, avail map[int]*float64) []report.Day {
	out := make([]report.Day, n)
	for i := range out {
		out[i].Date = fmt.Sprintf("2021-05-%02d", i+1)
		out[i].Seconds = 86400
		if a, ok := avail[i+1]; ok {
			out[i].Availability = a
		} else {
			out[i].Availability = ptr(1.0)
		}
	}
	return out
}

// fixture is a May 2021 report with two services: messaging, whose Hangul
// flow 메시지-수신 lost message receipt on 2021-05-05 (declared and measured,
// with a late notice), and payments, with an undeclared whole-flow window
// still open at the end, unknown time and a maintenance window.
func fixture() *report.Report {
	recv := report.Window{
		Service: "messaging", Flow: "메시지-수신", Function: ptr("receive"), Kind: "down",
		Start: at("2021-05-05 21:47:00"), End: ptr(at("2021-05-06 00:08:00")), DurationSeconds: 8460,
		CauseStep: "receive", Locations: []string{"seoul-a", "busan-b"},
		Error: "message 42 not delivered within 10s", Confirmed: at("2021-05-05 21:48:00"),
		StartUncertaintySeconds: ptr(60.0), EndUncertaintySeconds: ptr(10.0),
		StartUncertaintyLaterSeconds: ptr(10.0), EndUncertaintyLaterSeconds: ptr(0.04),
		Causes: []report.Cause{
			{Step: "receive", Error: "message 42 not delivered within 10s", From: at("2021-05-05 21:47:00"), To: ptr(at("2021-05-05 23:10:00"))},
			{Step: "send", Error: "send: HTTP 503", From: at("2021-05-05 23:10:00"), To: ptr(at("2021-05-06 00:08:00"))},
		},
	}
	slow := report.Window{
		Service: "messaging", Flow: "메시지-수신", Function: ptr("login"), Kind: "degraded",
		Start: at("2021-05-12 09:00:00"), End: ptr(at("2021-05-12 09:12:30")), DurationSeconds: 750,
		CauseStep: "login", Locations: []string{"seoul-a"},
		Error: "latency 3.2s above objective 2s", Confirmed: at("2021-05-12 09:01:00"),
		StartUncertaintySeconds: ptr(60.0), EndUncertaintySeconds: ptr(60.0),
		StartUncertaintyLaterSeconds: ptr(3.2), // the end's not known (stored before schema 12)
		Causes:                       []report.Cause{{Step: "login", Error: "latency 3.2s above objective 2s", From: at("2021-05-12 09:00:00"), To: ptr(at("2021-05-12 09:12:30"))}},
	}
	pay := report.Window{
		Service: "payments", Flow: "payments-transfer", Kind: "down",
		Start: at("2021-05-31 23:30:00"), DurationSeconds: 1800,
		CauseStep: "login", Locations: []string{"seoul-a"},
		Error: "dial tcp 127.0.0.1:18080: connect: connection refused", Confirmed: at("2021-05-31 23:31:00"),
		StartUncertaintySeconds: ptr(60.0), StartUncertaintyLaterSeconds: ptr(0.003),
		Causes: []report.Cause{{Step: "login", Error: "dial tcp 127.0.0.1:18080: connect: connection refused", From: at("2021-05-31 23:30:00")}},
	}
	declaredEnd := at("2021-05-06 00:08:00")
	return &report.Report{
		Title:     "Monthly SLA report: May 2021",
		From:      at("2021-05-01 00:00:00"),
		To:        at("2021-06-01 00:00:00"),
		Timezone:  "Asia/Seoul",
		Location:  "seoul-a, busan-b",
		Generated: at("2021-06-01 09:00:00"),
		Policy: report.Policy{
			DownAfter: 2, UpAfter: 1, Unknown: "exclude", Degraded: "up", Quorum: "majority", FlapGap: 300,
			Text: []string{
				"A run fails when any step errors, times out or fails an assertion; later steps are not run.",
				"A flow is down after 2 consecutive failed runs, backdated to the start of the first; up again at the first of 1 successful run.",
				"Unknown time (no run covered it) is excluded from the denominator; maintenance is excluded and listed.",
				"Availability = up time / (period - maintenance - unknown), time-weighted.",
			},
		},
		Services: []report.Service{
			{
				Name: "messaging", Objective: 0.999, Availability: ptr(0.996742), RunSuccessRatio: ptr(0.99621), Runs: 89280,
				PeriodSeconds: 2678400, UptimeSeconds: 2661130, DowntimeSeconds: 8460, DegradedSeconds: 750,
				UnknownSeconds: 8810, MaintenanceSeconds: 0, Incidents: 1,
				MTTRSeconds: ptr(8460.0), MTBFSeconds: ptr(2661130.0), MTTDSeconds: ptr(60.0), LongestSeconds: ptr(8460.0), AverageSeconds: ptr(8460.0),
				ErrorBudget:   report.Budget{AllowedSeconds: 2669.59, ConsumedSeconds: 8460, RemainingSeconds: -5790.41, RemainingRatio: ptr(-2.169), BurnRate: ptr(3.17)},
				CreditPercent: ptr(10.0),
				CreditTiers:   []report.CreditTier{{Below: 0.95, CreditPercent: 100}, {Below: 0.99, CreditPercent: 25}, {Below: 0.999, CreditPercent: 10}},
				P50:           ptr(0.182), P95: ptr(0.734), P99: ptr(1.92),
				Steps: []report.StepLatency{
					{Flow: "메시지-수신", Step: "login", Function: "login", Count: 89280, P50: ptr(0.081), P95: ptr(0.212), P99: ptr(0.48)},
					{Flow: "메시지-수신", Step: "send", Function: "send", Count: 89280, P50: ptr(0.104), P95: ptr(0.251), P99: ptr(0.61)},
					{Flow: "메시지-수신", Step: "receive", Function: "receive", Count: 88950, P50: ptr(0.62), P95: ptr(1.81), P99: ptr(10.02)},
				},
				Flows:   []report.Flow{{Name: "메시지-수신", Availability: ptr(0.996742), RunSuccessRatio: ptr(0.99621), Runs: 89280, DowntimeSeconds: 8460, UnknownSeconds: 8810}},
				Daily:   days(31, map[int]*float64{5: ptr(0.98132), 6: ptr(0.99444), 20: nil, 21: nil, 12: ptr(0.99913)}),
				Windows: []report.Window{recv, slow},
				BelowQuorum: []report.Window{{
					Service: "messaging", Flow: "메시지-수신", Function: ptr("send"), Kind: "down",
					Start: at("2021-05-18 14:00:00"), End: ptr(at("2021-05-18 14:03:00")), DurationSeconds: 180,
					CauseStep: "send", Locations: []string{"busan-b"}, Error: "HTTP 503", Confirmed: at("2021-05-18 14:01:00"),
				}},
				IncidentList: []report.Incident{{
					Start: recv.Start, End: recv.End, DurationSeconds: 8460, Functions: []string{"receive"}, Parts: 1,
				}},
				Unknown: []report.Span{{Flow: "메시지-수신", Start: at("2021-05-20 02:10:00"), End: at("2021-05-20 04:36:50"), DurationSeconds: 8810, Reason: "no run covered this stretch (prober down)"}},
				Reconciliation: []report.Reconciliation{{
					ID: "kakaotalk-receive-2021-05-05", Title: "Some users could not receive messages",
					Timeline: "incidents/kakao-2021-05-05.yaml", Functions: []string{"receive"},
					DeclaredStart: at("2021-05-05 21:47:00"), DeclaredEnd: &declaredEnd,
					MeasuredStart: ptr(recv.Start), MeasuredEnd: recv.End,
					StartDeltaSeconds: ptr(0.0), EndDeltaSeconds: ptr(0.0), Detected: true,
					Windows:     []report.Window{recv},
					FirstNotice: ptr(at("2021-05-05 22:08:00")), NoticeDelaySeconds: ptr(1260.0),
				}},
			},
			{
				Name: "payments", Objective: 0.995, Availability: ptr(0.999257), RunSuccessRatio: ptr(0.99912), Runs: 44640,
				PeriodSeconds: 2678400, UptimeSeconds: 2417400, DowntimeSeconds: 1800, UnknownSeconds: 252000,
				MaintenanceSeconds: 7200, Incidents: 1, MTTRSeconds: ptr(1800.0), MTBFSeconds: ptr(2417400.0), MTTDSeconds: ptr(60.0),
				LongestSeconds: ptr(1800.0), AverageSeconds: ptr(1800.0),
				ErrorBudget:   report.Budget{AllowedSeconds: 12096, ConsumedSeconds: 1800, RemainingSeconds: 10296, RemainingRatio: ptr(0.8512), BurnRate: ptr(0.15)},
				CreditPercent: ptr(0.0),
				CreditTiers:   []report.CreditTier{{Below: 0.995, CreditPercent: 10}},
				P50:           ptr(0.09), P95: ptr(0.3), P99: ptr(0.7),
				Steps: []report.StepLatency{
					{Flow: "payments-transfer", Step: "login", Function: "login", Count: 44640, P50: ptr(0.05), P95: ptr(0.12), P99: ptr(0.3)},
					{Flow: "payments-transfer", Step: "transfer", Function: "send", Count: 44600, P50: ptr(0.11), P95: ptr(0.35), P99: ptr(0.8)},
				},
				Flows:        []report.Flow{{Name: "payments-transfer", Availability: ptr(0.999257), RunSuccessRatio: ptr(0.99912), Runs: 44640, DowntimeSeconds: 1800, UnknownSeconds: 252000}},
				Daily:        days(31, map[int]*float64{1: nil, 2: nil, 3: nil, 14: nil, 15: ptr(0.9972), 16: nil, 31: ptr(0.97917)}),
				Windows:      []report.Window{pay},
				IncidentList: []report.Incident{{Start: pay.Start, DurationSeconds: 1800, Parts: 1}},
				Unknown: []report.Span{
					{Flow: "payments-transfer", Start: at("2021-05-01 00:00:00"), End: at("2021-05-04 00:00:00"), DurationSeconds: 259200 - 7200, Reason: "prober not yet deployed"},
				},
				Maintenance: []report.Span{{Start: at("2021-05-16 02:00:00"), End: at("2021-05-16 04:00:00"), DurationSeconds: 7200, Reason: "planned database upgrade"}},
				Undeclared:  []report.Window{pay},
			},
		},
		Windows: []report.Window{recv, slow, pay},
	}
}

// monthReport is a month with n services, each with several flows, steps
// and windows, for the benchmark.
func monthReport(n int) *report.Report {
	r := fixture()
	base := r.Services[0]
	r.Services = nil
	r.Windows = nil
	for i := range n {
		s := base
		s.Name = fmt.Sprintf("service-%02d", i)
		s.Windows = nil
		for j := range 12 {
			w := base.Windows[0]
			w.Service = s.Name
			w.Start = at(fmt.Sprintf("2021-05-%02d 10:%02d:00", j+2, j))
			end := w.Start.Add(time.Duration(j+1) * 7 * time.Minute)
			w.End = &end
			w.DurationSeconds = end.Sub(w.Start).Seconds()
			s.Windows = append(s.Windows, w)
			r.Windows = append(r.Windows, w)
		}
		s.Undeclared = s.Windows[1:6]
		r.Services = append(r.Services, s)
	}
	return r
}
