// Package platform is slaprobe's demo platform: a simulated messenger with
// account, messaging, payments, maps, mobility (taxi) and mail services, kept
// in memory, with fault injection by (service, function).
//
// It serves the endpoints of DESIGN "Demo platform" (JSON unless said
// otherwise); GET / answers with the catalogue. One login per service:
// POST /{service}/login with {"user", "password"} (both non-empty) answers
// {"token"}, a bearer token valid for that service only.
//
// # Authentication
//
// Every write (POST other than login) needs the service's bearer token, and so
// do the per-user reads: the messaging and mail inboxes, payment transfers and
// receipts, and rides (a user sees only their own transfers and rides; others
// are 404). The maps reads (search, route, tiles) are public, like a real map
// site: they ignore the Authorization header.
//
// # Receiving
//
// GET /messaging/inbox?after=ID (and /mail/inbox) returns the caller's
// messages from the one with that ID onwards, inclusive, so a probe that sends
// a message to itself finds it with after=<its id>. When ID was sent but never
// delivered (dropped) or has been evicted from the inbox, the messages sent
// after it are returned; an ID the platform never issued, or no longer remembers (past
// Limits.Messages sends), gives an empty list; no after gives the whole inbox.
//
// # Faults
//
// A Fault applies to requests of one service whose function is in its
// Functions (all of the service's functions when empty), while it is active:
// in [Start, End), End zero meaning until removed. The time that decides is
// clock.FromContext(r.Context(), Options.Clock).Now(), so the demo's per-run
// virtual clock rules a replay. Timeline incidents become faults at New;
// faults added through AddFault or POST /_admin/faults are live faults.
// A timeline fault's ID is "<timeline name>:<incident id>" and its Source the
// incident id; live faults are "f1", "f2", ... with Source "admin".
//
// Every mode affects a share Rate of the matching requests (Rate 0 in a
// Fault means 1, the timeline default). The decision is deterministic: an FNV
// hash of (service, function, method, path and query, body, the request's
// virtual time truncated to the second) mapped to [0, 1) and compared with
// Rate, so a replay gives the same answer every time.
//
//   - down: over a real listener the connection is hijacked and reset (the
//     client sees a connection error, never an HTTP status); through
//     Transport the request fails with a *net.OpError wrapping
//     syscall.ECONNREFUSED.
//   - error: HTTP 503 with a JSON error body.
//   - slow: the request waits Latency on its own clock (Sleep), then is
//     answered normally; with a Manual clock this advances virtual time and
//     costs no real time. With several slow faults the longest latency wins.
//   - drop: a drop fault on a service's send or receive function makes sends
//     accepted while it is active (and selected by Rate) never arrive: the
//     message is not delivered to the inbox, the transfer stays pending, the
//     ride keeps searching, the mail is not delivered. Sends made before or
//     after the fault arrive normally; reads answer normally. Drop has no
//     effect on other functions.
//
// Faults are checked before authentication: a service that is down refuses
// connections whatever the credentials.
//
// # Admin API
//
// POST /_admin/faults {"service", "functions", "mode", "rate", "latency",
// "duration"} answers 201 {"id"} (rate defaults to 1, functions to all,
// duration to until removed; latency and duration are Go durations); GET
// /_admin/faults answers a JSON array of the active faults, each {"id",
// "service", "functions", "mode", "rate", "latency", "start", "end" (null:
// until removed), "source"};
// DELETE /_admin/faults clears every fault (timeline ones included) and
// DELETE /_admin/faults/{id} one. Only loopback clients (and Transport) may
// use it unless Options.AllowRemoteAdmin is set.
//
// # Bounded state
//
// Tokens, transfers, rides, messages and live faults are kept in bounded
// first-in first-out stores (see Limits): the oldest entries are evicted, so a
// replay of any length uses bounded memory.
package platform
