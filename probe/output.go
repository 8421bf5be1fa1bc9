package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// WriteText writes runs as a table, one line per step (flow, step, function,
// status, HTTP status, duration, attempts, error), then a summary line. It is
// the text output of `slaprobe once`. Teardown steps that do not count are
// listed with their step name prefixed by "teardown/" and left out of the
// summary's counts.
func WriteText(w io.Writer, runs []Run) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FLOW\tSTEP\tFUNCTION\tSTATUS\tHTTP\tDURATION\tATTEMPTS\tERROR")
	var nRuns, nFailed, nDegraded int
	var st [4]int // ok, degraded, failed, not run
	for i := range runs {
		r := &runs[i]
		nRuns++
		switch r.Outcome() {
		case StatusFailed:
			nFailed++
		case StatusDegraded:
			nDegraded++
		}
		for j := range len(r.Steps) + len(r.Teardown) {
			var s *StepResult
			name := ""
			if j < len(r.Steps) {
				s = &r.Steps[j]
				name = s.Step
				switch s.Status {
				case StatusOK:
					st[0]++
				case StatusDegraded:
					st[1]++
				case StatusFailed:
					st[2]++
				default:
					st[3]++
				}
			} else {
				s = &r.Teardown[j-len(r.Steps)]
				name = "teardown/" + s.Step
			}
			httpStatus := "-"
			if s.HTTPStatus != 0 {
				httpStatus = strconv.Itoa(s.HTTPStatus)
			}
			dur, attempts, errText := "-", "-", s.Error
			if s.Status != StatusNotRun {
				dur, attempts = roundDuration(s.Duration).String(), strconv.Itoa(s.Attempts)
			}
			if errText == "" {
				errText = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(r.Flow), cell(name), cell(s.Function),
				s.Status, httpStatus, dur, attempts, cell(errText))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	runsSaid := "1 run"
	if nRuns != 1 {
		runsSaid = strconv.Itoa(nRuns) + " runs"
	}
	_, err := fmt.Fprintf(w, "%s: %d ok, %d degraded, %d failed; steps: %d ok, %d degraded, %d failed, %d not run\n",
		runsSaid, nRuns-nFailed-nDegraded, nDegraded, nFailed, st[0], st[1], st[2], st[3])
	return err
}

// cell keeps a value on one table line and blanks every control character
// (an error may quote a hostile target: terminal escapes, a bell, line
// breaks), as the windows table does.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// jsonRun is one run in `slaprobe once --format json` (DESIGN, "Command line").
type jsonRun struct {
	Flow            string     `json:"flow"`
	Service         string     `json:"service"`
	Location        string     `json:"location"`
	Start           time.Time  `json:"start"`
	OK              bool       `json:"ok"`
	ID              string     `json:"id"`
	DurationSeconds float64    `json:"duration_seconds"`
	Steps           []jsonStep `json:"steps"`
	Teardown        []jsonStep `json:"teardown,omitempty"` // teardown steps that do not count
}

type jsonStep struct {
	Step            string     `json:"step"`
	Function        string     `json:"function"`
	Status          Status     `json:"status"`
	HTTPStatus      int        `json:"http_status"`
	DurationSeconds float64    `json:"duration_seconds"`
	Error           string     `json:"error"`
	Attempts        int        `json:"attempts"`
	Phases          jsonPhases `json:"phases"`
	CertExpiry      *time.Time `json:"cert_expiry,omitempty"` // earliest server certificate expiry, TLS only
}

type jsonPhases struct {
	Resolve    float64 `json:"resolve"`
	Connect    float64 `json:"connect"`
	TLS        float64 `json:"tls"`
	Processing float64 `json:"processing"`
	Transfer   float64 `json:"transfer"`
}

// WriteJSON writes runs as a JSON array: each run has flow, service,
// location, start, ok, id, duration_seconds, steps and (when there are
// uncounted teardown steps) teardown; each step has step, function, status,
// http_status, duration_seconds, error, attempts, phases (resolve, connect,
// tls, processing, transfer, in seconds) and, over TLS, cert_expiry. Starts
// are given in loc (the config's time zone; nil is UTC), not in the host's
// TZ that the clock gave them.
func WriteJSON(w io.Writer, runs []Run, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	out := make([]jsonRun, len(runs))
	for i := range runs {
		r := &runs[i]
		jr := jsonRun{
			Flow: r.Flow, Service: r.Service, Location: r.Location, Start: r.Start.In(loc),
			OK: r.OK(), ID: r.ID, DurationSeconds: r.Duration.Seconds(),
			Steps: make([]jsonStep, len(r.Steps)),
		}
		for j := range r.Steps {
			jr.Steps[j] = newJSONStep(&r.Steps[j])
		}
		for j := range r.Teardown {
			jr.Teardown = append(jr.Teardown, newJSONStep(&r.Teardown[j]))
		}
		out[i] = jr
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func newJSONStep(s *StepResult) jsonStep {
	js := jsonStep{
		Step: s.Step, Function: s.Function, Status: s.Status, HTTPStatus: s.HTTPStatus,
		DurationSeconds: s.Duration.Seconds(), Error: s.Error, Attempts: s.Attempts,
		Phases: jsonPhases{
			Resolve: s.Phases.Resolve.Seconds(), Connect: s.Phases.Connect.Seconds(),
			TLS: s.Phases.TLS.Seconds(), Processing: s.Phases.Processing.Seconds(),
			Transfer: s.Phases.Transfer.Seconds(),
		},
	}
	if !s.CertExpiry.IsZero() {
		t := s.CertExpiry.UTC()
		js.CertExpiry = &t
	}
	return js
}
