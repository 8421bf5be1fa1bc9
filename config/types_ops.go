package config

import (
	"net/url"
	"time"
)

// Status configures the status page. The internal page is always served at
// / on Listen (the daemon's listener); Status.Listen adds a public one.
type Status struct {
	Listen  string        // public listener HOST:PORT; "" = none
	Title   string        // page title; default "<location> status"
	Refresh time.Duration // how often the page refreshes itself; default 30s
}

// Reports configures scheduled monthly reports and their delivery. Enabled
// is false when the config has no reports: block.
type Reports struct {
	Enabled bool
	// Schedule is a cron expression (5 fields, in the config's time zone);
	// default DefaultReportSchedule: day 1 at 00:10.
	Schedule string
	Formats  []string // of pdf, html, json, csv, md; default [pdf]
	// Archive is the directory, resolved against the config's; "" when
	// the config names none: `run` then keeps the reports in
	// DefaultReportArchive beside the SQLite database (or in the working
	// directory with PostgreSQL), where the results are.
	Archive string
	// Backfill is how many completed months before now a first start makes
	// (when they have data); every month that ends from the first start on
	// is made too (0: those alone), and later starts make every month since
	// the last one made. Default 1.
	Backfill int
	// Revise is how many months before the last completed one are rebuilt
	// on each run and get a new version when their figures changed
	// (late data, a correction). Default 1.
	Revise   int
	Retry    Retry
	Webhooks []Webhook
	Email    *Email
	Line     int
}

// Retry is the delivery retry policy: exponential backoff from Backoff,
// doubling up to MaxBackoff, at most Attempts tries.
type Retry struct {
	Attempts   int           // default 8
	Backoff    time.Duration // default 30s
	MaxBackoff time.Duration // default 1h
}

// Webhook delivers a report as a multipart/form-data POST.
type Webhook struct {
	URL     string            // a template: ${env:NAME}, ${file:PATH} (or all of it one)
	Headers map[string]string // values are templates: ${env:NAME}, ${file:PATH}
	Line    int
}

// Target names the webhook where it is recorded and logged (delivery
// records, logs): the URL as written, secret references unexpanded, with
// a password and every query value masked.
func (w Webhook) Target() string {
	u, err := url.Parse(w.URL)
	if err != nil || u.Scheme == "" {
		return w.URL // all of it a ${...} reference
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = "xxxxx"
			}
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// Email delivers a report by SMTP.
type Email struct {
	Server   string   // HOST:PORT
	From     string   // sender address
	To       []string // recipients
	Username string   // template (secrets); "" = no AUTH
	Password string   // template (secrets)
	// TLS is "starttls" (default: STARTTLS required), "tls" (implicit TLS,
	// port 465) or "none" (only for a server on loopback).
	TLS string
	// CAFile, if set, is trusted for the server's certificate.
	CAFile             string
	InsecureSkipVerify bool
	Line               int
}

// Defaults of the status and reports blocks.
const (
	DefaultStatusRefresh  = 30 * time.Second
	DefaultReportSchedule = "10 0 1 * *"
	DefaultReportArchive  = "reports" // directory name beside the store
	DefaultRetryAttempts  = 8
	DefaultRetryBackoff   = 30 * time.Second
	DefaultRetryMax       = time.Hour
	MinStatusRefresh      = time.Second
)

// ReportFormats are the formats a scheduled report can be made in.
var ReportFormats = []string{"pdf", "html", "json", "csv", "md"}
