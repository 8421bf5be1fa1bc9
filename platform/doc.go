// Package platform is slaprobe's demo platform: a simulated messenger with
// account, messaging, payments, maps, mobility (taxi) and mail services, kept
// in memory, with fault injection by (service, function).
//
// It serves the endpoints of DESIGN "Demo platform" (JSON unless said
// otherwise); GET / answers with the catalogue. One login per service:
// POST /{service}/login with {"user", "password"} (both non-empty) answers
// {"token"}, a bearer token valid for that service only; POST
// /{service}/logout with it revokes it (204). DELETE /messaging/messages/{id}
// lets the sender or the recipient delete a message from the recipient's
// inbox (204; 404 for anyone else), as a probe's teardown cleans up.
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
// # Push
//
// Messaging also delivers every message, as it is accepted, to the
// recipient's open streams: GET /messaging/ws upgrades to a WebSocket that
// carries one JSON text frame per message, and GET /messaging/events (with
// Accept: text/event-stream) is a server-sent event stream with one
// "message" event per message (its id the message id). Both carry the inbox
// item plus "type": {"type":"message","id","from","text","at"}, need the
// messaging bearer token in the Authorization header, and are the receive
// function. Open streams are bounded by Limits.Streams (503 past it); a
// stream that has pushQueue pushes waiting is closed as a slow consumer,
// never slowing the sender.
//
// POST /payments/transfers takes an optional "callback_url" (http or https;
// loopback hosts only unless Options.AllowRemoteCallbacks). When the transfer
// settles, the platform POSTs {"type":"transfer.settled","id","from","to",
// "amount","status","at"} to it with X-Webhook-Id: wh-<id> and
// X-Signature: sha256=<hex HMAC-SHA256 of the raw body under
// Options.WebhookSecret> (see Sign), tried CallbackAttempts times
// CallbackRetry apart on the request's clock.
//
// In process (Transport), a push or callback a request causes has reached
// the client before that request's response is returned: see Transport.
// Over sockets pushes are written as they come and callbacks are made in the
// background.
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
//     message is not delivered to the inbox nor pushed to a stream, the
//     transfer stays pending and calls nobody back, the ride keeps
//     searching, the mail is not delivered. Sends made before or after the
//     fault arrive normally; reads answer normally. Drop has no effect on
//     other functions.
//
// Streams and callbacks are receive: opening a stream meets faults like any
// request (down refuses it, error answers 503, slow delays the handshake).
// A down or error fault on receive when a message is pushed, or a transfer
// settles, closes the recipient's streams (WebSocket close 1013 for error)
// or loses the callback; slow faults do not delay pushes or callbacks.
//
// Faults are checked before authentication: a service that is down refuses
// connections whatever the credentials.
//
// # Admin API
//
// POST /_admin/faults {"service", "functions", "mode", "rate", "latency",
// "duration"} answers 201 {"id"} (rate defaults to 1, functions to all,
// duration to until removed; latency and duration are Go durations, a
// duration must be above 0 and latency is for mode slow only); GET
// /_admin/faults answers a JSON array of the active faults, each {"id",
// "service", "functions", "mode", "rate", "latency", "start", "end" (null:
// until removed), "source"};
// DELETE /_admin/faults clears every fault (timeline ones included) and
// DELETE /_admin/faults/{id} one. Only loopback clients (and Transport) may
// use it unless Options.AllowRemoteAdmin is set; a POST needs Content-Type
// application/json, the Host must be an IP address or localhost, and an
// Origin must be a loopback one (see Platform.admin).
//
// # Bounded state
//
// Tokens, transfers, rides, messages and live faults are kept in bounded
// first-in first-out stores (see Limits): the oldest entries are evicted, so a
// replay of any length uses bounded memory.
package platform
