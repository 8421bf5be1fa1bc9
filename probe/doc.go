// Package probe runs flows: multi-step HTTP journeys against one service,
// each step bound to one user-visible function (login, send, receive, ...).
//
// A Runner executes one flow at a time (Run is safe for concurrent use):
// steps in order, under one context per run with the flow's timeout and each
// step's own timeout. Every step yields a StepResult; the steps after a
// failed one are not_run. All time reads and waits go through the clock found
// in the run's context (clock.FromContext), so the demo replays outages in
// virtual time: a step whose measured (virtual) duration exceeds its timeout
// fails as a timeout even when the real request came back at once.
//
// # Templates
//
// Every string of a request (URL, header values, JSON strings and keys, form
// values, raw body) and every matcher operand is a template. ${name} is a flow
// variable (flow vars are resolved in order at the start of a run; a var may
// use the ones before it) or a value extracted by an earlier step. Built-ins:
// ${run.id} (the run's id), ${location} (the prober's location) and ${now}
// (the run clock's time, RFC 3339, UTC). ${env:NAME} and ${file:PATH} are
// secrets, resolved from config.Config.Secrets; their values (and the values
// of flow vars built from them) are replaced by *** in every error the runner
// reports. $${ is a literal ${; a lone $ is literal.
//
// Substitution is literal: values are not URL-escaped in URLs, so a variable
// used in a path or query must already be URL-safe (ids and tokens usually
// are). In JSON bodies a substituted string stays a JSON string, escaped as
// JSON.
//
// # Assertions
//
// Expect.Status lists the allowed statuses (empty: 200-399). JSONPath
// matchers (github.com/ohler55/ojg/jp) apply to the values a path selects:
// equals, contains and matches pass when one selected value passes; gt, ge,
// lt and le need every selected value to be a number that passes; exists
// tests whether anything was selected. For a singular path ($.a.b[0]) contains
// means "the array holds the operand", "the text contains the operand" or "the
// object has the key"; for a path that may select several values ($.a[*].id)
// the selection is the array, so contains means one selected value equals the
// operand. Body and header matchers work on text (contains is a substring
// test). A step that passes but takes longer than Expect.Latency (polls
// included) is degraded.
//
// # Polling
//
// A step with Poll is sent again (a new request each time) every Poll.Every
// until its expectations and extractions hold, for at most Poll.Within
// measured on the run's clock; at the deadline it fails with the last
// failure: "receive: expectation not met within 10s: $.messages[*].id does
// not contain "m-17"".
//
// # HTTP
//
// Runs share one tuned transport per distinct TLS setting (keep-alive with up
// to 64 idle connections per host, 90s idle timeout), and each run has its own
// cookie jar. Response bodies are read up to Flow.MaxBodyBytes (a larger body
// fails the step) and redirects are followed up to Flow.MaxRedirects. Phase
// timings (resolve, connect, tls, processing, transfer) come from
// net/http/httptrace and are summed over redirects.
package probe
