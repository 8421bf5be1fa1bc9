package platform

import (
	"sort"
	"time"
)

// fifo is a map bounded to max entries; inserting a new key into a full fifo
// evicts the oldest key. It is not safe for concurrent use.
type fifo[K comparable, V any] struct {
	m    map[K]V
	keys []K // insertion order; a ring once len(keys) == max
	head int // index of the oldest key once the ring is full
	max  int
}

func newFIFO[K comparable, V any](max int) *fifo[K, V] {
	return &fifo[K, V]{m: make(map[K]V), max: max}
}

func (f *fifo[K, V]) get(k K) (V, bool) {
	v, ok := f.m[k]
	return v, ok
}

func (f *fifo[K, V]) put(k K, v V) {
	if _, ok := f.m[k]; ok {
		f.m[k] = v
		return
	}
	if len(f.keys) < f.max {
		f.keys = append(f.keys, k)
	} else {
		delete(f.m, f.keys[f.head])
		f.keys[f.head] = k
		f.head = (f.head + 1) % f.max
	}
	f.m[k] = v
}

func (f *fifo[K, V]) len() int { return len(f.m) }

// message is one delivered message or mail.
type message struct {
	seq     uint64
	ID      string    `json:"id"`
	From    string    `json:"from"`
	Subject string    `json:"subject,omitempty"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
}

// mailbox holds the inboxes of one service (messaging or mail). Every
// inbox is bounded to perInbox messages and the service to total messages:
// past either bound the oldest messages go.
type mailbox struct {
	seq      uint64
	perInbox int
	total    int
	inboxes  map[string][]message
	order    []delivery                 // ring of deliveries, oldest first from orderHd
	orderHd  int                        //
	sent     *fifo[string, sentMessage] // every accepted message by id, delivered or not
}

type delivery struct {
	user string
	seq  uint64
}

type sentMessage struct {
	seq       uint64
	from, to  string
	delivered bool
}

func newMailbox(perInbox, total int) *mailbox {
	return &mailbox{
		perInbox: perInbox,
		total:    total,
		inboxes:  make(map[string][]message),
		sent:     newFIFO[string, sentMessage](total),
	}
}

// accept records a message sent with id; when deliver is false it is dropped.
func (b *mailbox) accept(to string, m message, deliver bool) {
	b.seq++
	m.seq = b.seq
	b.sent.put(m.ID, sentMessage{seq: m.seq, from: m.From, to: to, delivered: deliver})
	if !deliver {
		return
	}
	in := append(b.inboxes[to], m)
	if len(in) > b.perInbox {
		in[0] = message{}
		in = in[1:]
	}
	b.inboxes[to] = in
	d := delivery{user: to, seq: m.seq}
	if len(b.order) < b.total {
		b.order = append(b.order, d)
		return
	}
	old := b.order[b.orderHd]
	b.order[b.orderHd] = d
	b.orderHd = (b.orderHd + 1) % b.total
	b.evict(old)
}

// evict removes the delivery old from its inbox, unless the per-inbox bound
// already did.
func (b *mailbox) evict(old delivery) {
	in := b.inboxes[old.user]
	if len(in) == 0 || in[0].seq != old.seq {
		return
	}
	in[0] = message{}
	in = in[1:]
	if len(in) == 0 {
		delete(b.inboxes, old.user)
		return
	}
	b.inboxes[old.user] = in
}

// inbox returns a copy of user's messages from the one with id after onwards
// (see the package doc).
func (b *mailbox) inbox(user, after string) []message {
	in := b.inboxes[user]
	start := 0
	if after != "" {
		s, ok := b.sent.get(after)
		if !ok {
			return []message{}
		}
		start = sort.Search(len(in), func(i int) bool { return in[i].seq >= s.seq })
	}
	out := make([]message, len(in)-start)
	copy(out, in[start:])
	return out
}

// remove deletes message id from its recipient's inbox when user sent or
// received it; it reports whether user may see the message at all.
func (b *mailbox) remove(user, id string) bool {
	s, ok := b.sent.get(id)
	if !ok || (s.from != user && s.to != user) {
		return false
	}
	in := b.inboxes[s.to]
	i := sort.Search(len(in), func(i int) bool { return in[i].seq >= s.seq })
	if i < len(in) && in[i].seq == s.seq {
		in = append(in[:i], in[i+1:]...)
		if len(in) == 0 {
			delete(b.inboxes, s.to)
		} else {
			b.inboxes[s.to] = in
		}
	}
	return true
}

// count returns the number of messages held in all inboxes.
func (b *mailbox) count() int {
	n := 0
	for _, in := range b.inboxes {
		n += len(in)
	}
	return n
}

// transfer is one payment.
type transfer struct {
	ID      string
	From    string
	To      string
	Amount  float64
	At      time.Time
	Settled bool
}

// ride is one taxi call.
type ride struct {
	ID      string
	User    string
	From    string
	To      string
	At      time.Time
	Matched bool
}

// tokenStore holds the live bearer tokens: at most perUser per (service,
// user), whose oldest goes first, and at most max in all: past that, the
// oldest token of the user holding the most goes.
//
// Eviction depends only on each user's own logins as long as the total
// stays under max. That is what keeps a replay deterministic: it runs
// different flows' runs concurrently and lets them drift apart in virtual
// time, so with one first-in first-out bound over everyone, a run stalled
// for a moment in real time could find its token evicted by thousands of
// other flows' logins. It is not safe for concurrent use.
type tokenStore struct {
	m       map[string]session
	users   map[subKey][]string // each user's live tokens, oldest first
	seq     uint64              // issue order, for ties between users
	max     int
	perUser int
}

func newTokenStore(max, perUser int) *tokenStore {
	return &tokenStore{m: map[string]session{}, users: map[subKey][]string{}, max: max, perUser: min(perUser, max)}
}

func (ts *tokenStore) get(tok string) (session, bool) {
	s, ok := ts.m[tok]
	return s, ok
}

// put adds a new token (tokens are random: never one already held).
func (ts *tokenStore) put(tok string, s session) {
	k := subKey{s.service, s.user}
	if len(ts.users[k]) >= ts.perUser {
		ts.dropOldest(k)
	} else if len(ts.m) >= ts.max {
		ts.dropOldest(ts.heaviest())
	}
	ts.seq++
	s.seq = ts.seq
	ts.m[tok] = s
	ts.users[k] = append(ts.users[k], tok)
}

// heaviest returns the user holding the most tokens; among equals, the one
// whose oldest token is oldest.
func (ts *tokenStore) heaviest() subKey {
	var best subKey
	n, oldest := 0, uint64(0)
	for k, list := range ts.users {
		first := ts.m[list[0]].seq
		if len(list) > n || (len(list) == n && first < oldest) {
			best, n, oldest = k, len(list), first
		}
	}
	return best
}

func (ts *tokenStore) dropOldest(k subKey) {
	list := ts.users[k]
	if len(list) == 0 {
		return
	}
	delete(ts.m, list[0])
	list[0] = ""
	if list = list[1:]; len(list) == 0 {
		delete(ts.users, k)
		return
	}
	ts.users[k] = list
}

// revoke marks tok logged out; it stays counted until it is evicted.
func (ts *tokenStore) revoke(tok string) {
	if s, ok := ts.m[tok]; ok {
		s.revoked = true
		ts.m[tok] = s
	}
}

func (ts *tokenStore) len() int { return len(ts.m) }

// session is what a bearer token stands for.
type session struct {
	service string
	user    string
	revoked bool   // logged out
	seq     uint64 // issue order
}
