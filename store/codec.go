package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/slaprobe/slaprobe/probe"
)

// Formats of the version 3 blobs (their first byte). stepsFormat1 is the
// steps blob before probe.StepResult.Ended was kept (read as 0: not known);
// stepsFormat is written, and read by no slaprobe before it.
const (
	stepsFormat1 = 1
	statsFormat  = 2
	stepsFormat  = 3
)

// Limits that keep a corrupt or hostile blob from making a decoder allocate
// without bound.
const (
	maxBlobSteps = 1 << 16
	maxErrorLen  = 1 << 20
)

var (
	errSteps = errors.New("store: corrupt steps blob")
	errStats = errors.New("store: corrupt rollup blob")
)

// stepRow is one step of a run as stored: its interned name and its result.
type stepRow struct {
	name int64
	res  *probe.StepResult
}

// appendSteps appends the runs.steps blob of steps to dst: a format byte, the
// uvarint step count, then per step the uvarint name id, the status code
// byte, and the varints http status, duration, the five phases, attempts
// and ended (format 3; format 1 has none), then the uvarint error length and
// the error. A three-step run takes about 50 bytes.
func appendSteps(dst []byte, steps []stepRow) []byte {
	dst = append(dst, stepsFormat)
	dst = binary.AppendUvarint(dst, uint64(len(steps)))
	for _, s := range steps {
		r := s.res
		dst = binary.AppendUvarint(dst, uint64(s.name))
		dst = append(dst, byte(statusCodes[r.Status]))
		dst = binary.AppendVarint(dst, int64(r.HTTPStatus))
		dst = binary.AppendVarint(dst, int64(r.Duration))
		dst = binary.AppendVarint(dst, int64(r.Phases.Resolve))
		dst = binary.AppendVarint(dst, int64(r.Phases.Connect))
		dst = binary.AppendVarint(dst, int64(r.Phases.TLS))
		dst = binary.AppendVarint(dst, int64(r.Phases.Processing))
		dst = binary.AppendVarint(dst, int64(r.Phases.Transfer))
		dst = binary.AppendVarint(dst, int64(r.Attempts))
		dst = binary.AppendVarint(dst, int64(r.Ended))
		dst = binary.AppendUvarint(dst, uint64(len(r.Error)))
		dst = append(dst, r.Error...)
	}
	return dst
}

// blobReader reads varints off a blob, remembering the first error.
type blobReader struct {
	p   []byte
	bad bool
}

func (b *blobReader) uvarint() uint64 {
	// Most values in a blob are under 128: one byte, read here inline.
	if p := b.p; len(p) > 0 && p[0] < 0x80 {
		b.p = p[1:]
		return uint64(p[0])
	}
	return b.uvarintSlow()
}

func (b *blobReader) uvarintSlow() uint64 {
	v, n := binary.Uvarint(b.p)
	if n <= 0 {
		b.bad, b.p = true, nil
		return 0
	}
	b.p = b.p[n:]
	return v
}

func (b *blobReader) varint() int64 {
	v, n := binary.Varint(b.p)
	if n <= 0 {
		b.bad, b.p = true, nil
		return 0
	}
	b.p = b.p[n:]
	return v
}

func (b *blobReader) byte() byte {
	if len(b.p) == 0 {
		b.bad = true
		return 0
	}
	c := b.p[0]
	b.p = b.p[1:]
	return c
}

// decodeSteps parses appendSteps' output, resolving name ids with names. An
// empty blob or a zero count is no steps (nil).
//
// If ids is not nil, the steps' name ids are appended to it.
func decodeSteps(p []byte, names map[int64]nameKey, ids *[]int64) ([]probe.StepResult, error) {
	return decodeStepsTo(nil, p, names, ids)
}

// decodeStepsTo is decodeSteps into dst's memory when it has room (what
// it held is overwritten): for a caller that lets each run's steps go
// before it reads the next.
func decodeStepsTo(dst []probe.StepResult, p []byte, names map[int64]nameKey, ids *[]int64) ([]probe.StepResult, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if p[0] != stepsFormat && p[0] != stepsFormat1 {
		return nil, fmt.Errorf("%w: format %d", errSteps, p[0])
	}
	ended := p[0] == stepsFormat
	b := blobReader{p: p[1:]}
	n := b.uvarint()
	if b.bad || n > maxBlobSteps || n > uint64(len(b.p)) {
		return nil, errSteps
	}
	if n == 0 {
		return nil, nil
	}
	out := dst[:0]
	if uint64(cap(out)) < n {
		out = make([]probe.StepResult, n)
	}
	out = out[:n]
	for i := range out {
		s := &out[i]
		*s = probe.StepResult{}
		id := int64(b.uvarint())
		if ids != nil {
			*ids = append(*ids, id)
		}
		nk := names[id]
		s.Step, s.Function = nk.step, nk.function
		st := b.byte()
		s.Status = probe.StatusFailed
		if int(st) < len(statusNames) {
			s.Status = statusNames[st]
		}
		s.HTTPStatus = int(b.varint())
		s.Duration = time.Duration(b.varint())
		s.Phases.Resolve = time.Duration(b.varint())
		s.Phases.Connect = time.Duration(b.varint())
		s.Phases.TLS = time.Duration(b.varint())
		s.Phases.Processing = time.Duration(b.varint())
		s.Phases.Transfer = time.Duration(b.varint())
		s.Attempts = int(b.varint())
		if ended {
			s.Ended = time.Duration(b.varint())
		}
		el := b.uvarint()
		if b.bad || el > maxErrorLen || el > uint64(len(b.p)) {
			return nil, errSteps
		}
		s.Error = string(b.p[:el])
		b.p = b.p[el:]
	}
	if b.bad || len(b.p) != 0 {
		return nil, errSteps
	}
	return out, nil
}

// stat is one step's counts in a rollup row; name 0 is the run-level entry
// (outcome and duration of whole runs).
type stat struct {
	name                         int64
	ok, failed, degraded, notRun int64
	sum                          int64 // nanoseconds
	hist                         sparse
}

func (s *stat) add(o *stat) {
	s.ok += o.ok
	s.failed += o.failed
	s.degraded += o.degraded
	s.notRun += o.notRun
	s.sum += o.sum
	s.hist = merge(s.hist, o.hist)
}

// mergeStats returns a+b; both are ordered by name, and so is the result.
func mergeStats(a, b []stat) []stat {
	out := make([]stat, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].name < b[j].name):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].name < a[i].name:
			out = append(out, b[j])
			j++
		default:
			s := a[i]
			s.add(&b[j])
			out = append(out, s)
			i++
			j++
		}
	}
	return out
}

// encodeStats is the SQLite form of a rollup row's data: a format byte, then
// per entry (ordered by name) the uvarint distance from the previous name
// (from -1), the uvarints ok, failed, degraded and not_run, the varint sum of
// durations, the uvarint number of histogram bins and the bins as in
// encodeBlob (uvarint slot distance, uvarint count).
func encodeStats(ss []stat) []byte {
	return appendStats(make([]byte, 0, 1+16*len(ss)), ss)
}

// appendStats appends encodeStats(ss) to out.
func appendStats(out []byte, ss []stat) []byte {
	out = append(out, statsFormat)
	prev := int64(-1)
	for i := range ss {
		s := &ss[i]
		out = binary.AppendUvarint(out, uint64(s.name-prev))
		prev = s.name
		out = binary.AppendUvarint(out, uint64(s.ok))
		out = binary.AppendUvarint(out, uint64(s.failed))
		out = binary.AppendUvarint(out, uint64(s.degraded))
		out = binary.AppendUvarint(out, uint64(s.notRun))
		out = binary.AppendVarint(out, s.sum)
		out = binary.AppendUvarint(out, uint64(len(s.hist)))
		pi := -1
		for _, b := range s.hist {
			out = binary.AppendUvarint(out, uint64(b.idx-pi))
			out = binary.AppendUvarint(out, uint64(b.count))
			pi = b.idx
		}
	}
	return out
}

// decodeStats parses encodeStats' output; an empty blob has no entries.
func decodeStats(p []byte) ([]stat, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if p[0] != statsFormat {
		return nil, fmt.Errorf("%w: format %d", errStats, p[0])
	}
	b := blobReader{p: p[1:]}
	var out []stat
	prev := int64(-1)
	for len(b.p) > 0 {
		d := b.uvarint()
		if d == 0 || d > 1<<40 {
			return nil, errStats
		}
		s := stat{name: prev + int64(d)}
		prev = s.name
		s.ok, s.failed, s.degraded, s.notRun = int64(b.uvarint()), int64(b.uvarint()), int64(b.uvarint()), int64(b.uvarint())
		s.sum = b.varint()
		nb := b.uvarint()
		if b.bad || nb > maxHistSlots || nb > uint64(len(b.p)) || s.ok < 0 || s.failed < 0 || s.degraded < 0 || s.notRun < 0 {
			return nil, errStats
		}
		if nb > 0 {
			s.hist = make(sparse, 0, nb)
		}
		pi := -1
		for k := uint64(0); k < nb; k++ {
			di, c := b.uvarint(), b.uvarint()
			if b.bad || di == 0 || di > maxHistSlots || c > 1<<62 {
				return nil, errStats
			}
			pi += int(di)
			if pi >= maxHistSlots {
				return nil, errStats
			}
			s.hist = append(s.hist, bin{idx: pi, count: int64(c)})
		}
		out = append(out, s)
	}
	if b.bad {
		return nil, errStats
	}
	return out, nil
}

// encodeStatsJSON is the PostgreSQL form of a rollup row's data, a JSONB
// object that the SQL function slaprobe_rollup_add can add: name id ->
// [ok, failed, degraded, not_run, sum_ns, hist...] with the dense histogram
// without its trailing zeros.
func encodeStatsJSON(ss []stat) string {
	buf := make([]byte, 0, 64*len(ss))
	buf = append(buf, '{')
	for i := range ss {
		s := &ss[i]
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = strconv.AppendInt(buf, s.name, 10)
		buf = append(buf, `":[`...)
		for k, v := range []int64{s.ok, s.failed, s.degraded, s.notRun, s.sum} {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendInt(buf, v, 10)
		}
		next := 0
		for _, b := range s.hist {
			for ; next < b.idx; next++ {
				buf = append(buf, ",0"...)
			}
			buf = append(buf, ',')
			buf = strconv.AppendInt(buf, b.count, 10)
			next = b.idx + 1
		}
		buf = append(buf, ']')
	}
	buf = append(buf, '}')
	return string(buf)
}

// decodeStatsJSON parses encodeStatsJSON's output (as PostgreSQL returns it).
func decodeStatsJSON(p []byte) ([]stat, error) {
	if len(p) == 0 {
		return nil, nil
	}
	var m map[string][]json.Number
	if err := json.Unmarshal(p, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", errStats, err)
	}
	out := make([]stat, 0, len(m))
	for k, vs := range m {
		name, err := strconv.ParseInt(k, 10, 64)
		if err != nil || name < 0 || len(vs) < 5 || len(vs) > 5+maxHistSlots {
			return nil, fmt.Errorf("%w: entry %.20q", errStats, k)
		}
		var ns [5]int64
		for i := range ns {
			if ns[i], err = vs[i].Int64(); err != nil {
				return nil, fmt.Errorf("%w: %v", errStats, err)
			}
		}
		s := stat{name: name, ok: ns[0], failed: ns[1], degraded: ns[2], notRun: ns[3], sum: ns[4]}
		for i, v := range vs[5:] {
			c, err := v.Int64()
			if err != nil || c < 0 {
				return nil, fmt.Errorf("%w: histogram %q", errStats, v)
			}
			if c > 0 {
				s.hist = append(s.hist, bin{idx: i, count: c})
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// eachStat calls fn for every entry of an encodeStats blob without
// allocating: s (and its hist) is reused, valid only during the call.
func eachStat(p []byte, s *stat, fn func(*stat)) error {
	if len(p) == 0 {
		return nil
	}
	if p[0] != statsFormat {
		return fmt.Errorf("%w: format %d", errStats, p[0])
	}
	b := blobReader{p: p[1:]}
	prev := int64(-1)
	for len(b.p) > 0 {
		d := b.uvarint()
		if d == 0 || d > 1<<40 {
			return errStats
		}
		s.name = prev + int64(d)
		prev = s.name
		s.ok, s.failed, s.degraded, s.notRun = int64(b.uvarint()), int64(b.uvarint()), int64(b.uvarint()), int64(b.uvarint())
		s.sum = b.varint()
		nb := b.uvarint()
		if b.bad || nb > maxHistSlots || nb > uint64(len(b.p)) || s.ok < 0 || s.failed < 0 || s.degraded < 0 || s.notRun < 0 {
			return errStats
		}
		s.hist = s.hist[:0]
		pi := -1
		for k := uint64(0); k < nb; k++ {
			di, c := b.uvarint(), b.uvarint()
			if b.bad || di == 0 || di > maxHistSlots || c > 1<<62 {
				return errStats
			}
			pi += int(di)
			if pi >= maxHistSlots {
				return errStats
			}
			s.hist = append(s.hist, bin{idx: pi, count: int64(c)})
		}
		fn(s)
	}
	if b.bad {
		return errStats
	}
	return nil
}

// eachStatJSON is eachStat for encodeStatsJSON's form as PostgreSQL returns
// it ({"0": [1, 0, 0, 0, 5, 0, 1], "3": [...]}): a small scanner for exactly
// that shape, with decodeStatsJSON as the fallback for anything else.
func eachStatJSON(p []byte, s *stat, fn func(*stat)) error {
	if len(p) == 0 {
		return nil
	}
	if err := scanStatsJSON(p, s, fn); err == nil {
		return nil
	} else if !errors.Is(err, errNotPlain) {
		return err
	}
	ss, err := decodeStatsJSON(p)
	if err != nil {
		return err
	}
	for i := range ss {
		fn(&ss[i])
	}
	return nil
}

// errNotPlain: the JSON is valid perhaps, but not in the plain shape
// scanStatsJSON reads.
var errNotPlain = errors.New("store: rollup JSON not in its plain form")

func scanStatsJSON(p []byte, s *stat, fn func(*stat)) error {
	i := 0
	ws := func() {
		for i < len(p) && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r') {
			i++
		}
	}
	expect := func(c byte) bool {
		ws()
		if i < len(p) && p[i] == c {
			i++
			return true
		}
		return false
	}
	num := func() (int64, bool) {
		ws()
		j := i
		var v int64
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			if v > (math.MaxInt64-9)/10 {
				return 0, false
			}
			v = v*10 + int64(p[i]-'0')
			i++
		}
		return v, i > j
	}
	if !expect('{') {
		return errNotPlain
	}
	if expect('}') {
		return nil
	}
	for {
		if !expect('"') {
			return errNotPlain
		}
		name, ok := num()
		if !ok || !expect('"') || !expect(':') || !expect('[') {
			return errNotPlain
		}
		var head [5]int64
		for k := range head {
			if k > 0 && !expect(',') {
				return errNotPlain
			}
			if head[k], ok = num(); !ok {
				return errNotPlain
			}
		}
		s.name, s.ok, s.failed, s.degraded, s.notRun, s.sum = name, head[0], head[1], head[2], head[3], head[4]
		s.hist = s.hist[:0]
		for slot := 0; !expect(']'); slot++ {
			if !expect(',') || slot >= maxHistSlots {
				return errNotPlain
			}
			c, ok := num()
			if !ok {
				return errNotPlain
			}
			if c > 0 {
				s.hist = append(s.hist, bin{idx: slot, count: c})
			}
		}
		fn(s)
		if expect('}') {
			ws()
			if i != len(p) {
				return errNotPlain
			}
			return nil
		}
		if !expect(',') {
			return errNotPlain
		}
	}
}

// addStats returns the sum of two encodeStats blobs in encodeStats' form:
// encodeStats(mergeStats(decodeStats(a), decodeStats(b))), byte for byte,
// refusing what decodeStats refuses, but without decoding them into stats
// (one allocation: the result), in one pass over each. It is
// slaprobe_rollup_add on SQLite, called for every rollup row a batch adds
// to, twice per run: decoding both sides was a tenth of a check's
// allocations.
func addStats(a, b []byte) ([]byte, error) {
	var ra, rb statReader
	if err := ra.init(a); err != nil {
		return nil, err
	}
	if err := rb.init(b); err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+len(a)+len(b))
	out[0] = statsFormat
	prev := int64(-1)
	oka, okb := ra.next(), rb.next()
	for oka || okb {
		// An entry's bins follow its counts: each reader goes on past them
		// once they are written out (merged with the other side's, or not).
		var ea, eb *statEntry
		switch {
		case !okb || (oka && ra.e.name < rb.e.name):
			ea = &ra.e
		case !oka || rb.e.name < ra.e.name:
			ea = &rb.e
		default:
			ea, eb = &ra.e, &rb.e
		}
		e := *ea
		if eb != nil {
			e.ok += eb.ok
			e.failed += eb.failed
			e.degraded += eb.degraded
			e.notRun += eb.notRun
			e.sum += eb.sum
		}
		out = binary.AppendUvarint(out, uint64(e.name-prev))
		prev = e.name
		out = binary.AppendUvarint(out, uint64(e.ok))
		out = binary.AppendUvarint(out, uint64(e.failed))
		out = binary.AppendUvarint(out, uint64(e.degraded))
		out = binary.AppendUvarint(out, uint64(e.notRun))
		out = binary.AppendVarint(out, e.sum)
		var none binReader
		other := &none
		if eb != nil {
			other = &eb.bins
		}
		var ok bool
		if out, ok = appendMergedBins(out, &ea.bins, other); !ok {
			return nil, errStats
		}
		if ea == &ra.e || eb == &ra.e {
			ra.b.p = ra.e.bins.b.p
			oka = ra.next()
		}
		if ea == &rb.e || eb == &rb.e {
			rb.b.p = rb.e.bins.b.p
			okb = rb.next()
		}
	}
	if ra.err != nil {
		return nil, ra.err
	}
	if rb.err != nil {
		return nil, rb.err
	}
	return out, nil
}

// statEntry is one entry of a stats blob as statReader reads it: the
// counts, and a reader of its histogram bins, still encoded.
type statEntry struct {
	name                         int64
	ok, failed, degraded, notRun int64
	sum                          int64
	bins                         binReader
}

// statReader reads the entries of a stats blob in order, checking them as
// decodeStats does: next reads an entry's counts, the caller reads its bins
// (e.bins, checked as they are read) and sets b.p past them before the next.
type statReader struct {
	b    blobReader
	prev int64
	e    statEntry // the entry next read
	err  error
}

func (r *statReader) init(p []byte) error {
	r.prev = -1
	if len(p) == 0 {
		return nil
	}
	if p[0] != statsFormat {
		return fmt.Errorf("%w: format %d", errStats, p[0])
	}
	r.b.p = p[1:]
	return nil
}

// next reads the counts of the next entry into r.e; false at the end or on
// an error (r.err).
func (r *statReader) next() bool {
	if r.err != nil || len(r.b.p) == 0 {
		return false
	}
	b := &r.b
	d := b.uvarint()
	if d == 0 || d > 1<<40 {
		r.err = errStats
		return false
	}
	e := &r.e
	e.name = r.prev + int64(d)
	r.prev = e.name
	e.ok, e.failed, e.degraded, e.notRun = int64(b.uvarint()), int64(b.uvarint()), int64(b.uvarint()), int64(b.uvarint())
	e.sum = b.varint()
	nb := b.uvarint()
	if b.bad || nb > maxHistSlots || nb > uint64(len(b.p)) || e.ok < 0 || e.failed < 0 || e.degraded < 0 || e.notRun < 0 {
		r.err = errStats
		return false
	}
	e.bins = binReader{b: blobReader{p: b.p}, n: int(nb), idx: -1}
	return true
}

// binReader reads the n encoded bins of a histogram (uvarint slot distance,
// uvarint count), checking them as decodeStats does.
type binReader struct {
	b   blobReader
	n   int
	idx int // the last slot read
}

// next reads the next bin; false at the end or on an error, after which n
// is not 0.
func (r *binReader) next() (idx int, count int64, ok bool) {
	if r.n <= 0 {
		return 0, 0, false
	}
	var di, c uint64
	if p := r.b.p; len(p) >= 2 && p[0] < 0x80 && p[1] < 0x80 {
		di, c = uint64(p[0]), uint64(p[1]) // one byte each, nearly always
		r.b.p = p[2:]
	} else {
		di, c = r.b.uvarint(), r.b.uvarint()
	}
	if r.b.bad || di == 0 || di > maxHistSlots || c > 1<<62 {
		return 0, 0, false
	}
	r.idx += int(di)
	if r.idx >= maxHistSlots {
		return 0, 0, false
	}
	r.n--
	return r.idx, int64(c), true
}

// appendMergedBins appends the sum of two bin lists as encodeStats writes a
// histogram: the number of slots, then the slots. It reads both to their
// end (a and b are then past their bins); false if either is corrupt.
func appendMergedBins(out []byte, a, b *binReader) ([]byte, bool) {
	// The number of merged slots comes first. Under 128 of them (always,
	// in practice) it is one byte, written after the slots.
	at := -1
	if a.n+b.n < 0x80 {
		at = len(out)
		out = append(out, 0)
	} else {
		n, ok := countMergedBins(*a, *b)
		if !ok {
			return out, false
		}
		out = binary.AppendUvarint(out, uint64(n))
	}
	n := 0
	pi := -1
	put := func(idx int, c int64) {
		out = binary.AppendUvarint(out, uint64(idx-pi))
		out = binary.AppendUvarint(out, uint64(c))
		pi = idx
		n++
	}
	ia, ca, oka := a.next()
	ib, cb, okb := b.next()
	for oka || okb {
		switch {
		case !okb || (oka && ia < ib):
			put(ia, ca)
			ia, ca, oka = a.next()
		case !oka || ib < ia:
			put(ib, cb)
			ib, cb, okb = b.next()
		default:
			put(ia, ca+cb)
			ia, ca, oka = a.next()
			ib, cb, okb = b.next()
		}
	}
	if a.n != 0 || b.n != 0 { // one stopped at a corrupt bin
		return out, false
	}
	if at >= 0 {
		out[at] = byte(n)
	}
	return out, true
}

// countMergedBins is the number of slots of the sum of two bin lists; false
// if either is corrupt.
func countMergedBins(a, b binReader) (int, bool) {
	n := 0
	ia, _, oka := a.next()
	ib, _, okb := b.next()
	for oka || okb {
		n++
		switch {
		case !okb || (oka && ia < ib):
			ia, _, oka = a.next()
		case !oka || ib < ia:
			ib, _, okb = b.next()
		default:
			ia, _, oka = a.next()
			ib, _, okb = b.next()
		}
	}
	return n, a.n == 0 && b.n == 0
}
