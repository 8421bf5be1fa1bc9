package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// histFormat is the first byte of an encoded histogram blob.
const histFormat = 1

// maxHistSlots caps decoded histograms: a corrupt or hostile blob must not
// make a decoder allocate without bound.
const maxHistSlots = 4096

// errHist reports a histogram blob that cannot be decoded.
var errHist = errors.New("store: corrupt histogram")

// bin is one non-empty histogram slot.
type bin struct {
	idx   int
	count int64
}

// sparse is a histogram as its non-empty slots, in slot order. Most rollup
// rows (one run per flow and minute) have one or two non-empty slots, so the
// sparse form is both the in-memory and the stored form.
type sparse []bin

// add counts n in slot idx, keeping the slots ordered.
func (h sparse) add(idx int, n int64) sparse {
	i := sort.Search(len(h), func(i int) bool { return h[i].idx >= idx })
	if i < len(h) && h[i].idx == idx {
		h[i].count += n
		return h
	}
	h = append(h, bin{})
	copy(h[i+1:], h[i:])
	h[i] = bin{idx: idx, count: n}
	return h
}

// merge returns a+b.
func merge(a, b sparse) sparse {
	out := make(sparse, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].idx < b[j].idx):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].idx < a[i].idx:
			out = append(out, b[j])
			j++
		default:
			out = append(out, bin{idx: a[i].idx, count: a[i].count + b[j].count})
			i++
			j++
		}
	}
	return out
}

// dense expands h to n slots (len(LatencyBounds())+1).
func (h sparse) dense(n int) []int64 {
	out := make([]int64, n)
	for _, b := range h {
		if b.idx < n {
			out[b.idx] += b.count
		} else {
			out[n-1] += b.count
		}
	}
	return out
}

// encodeBlob is the SQLite form: a format byte, then for each non-empty slot
// the uvarint distance from the previous slot (from -1 for the first, so it
// is always >= 1) and the uvarint count. A one-sample histogram takes 3 bytes.
func encodeBlob(h sparse) []byte {
	out := make([]byte, 1, 1+4*len(h))
	out[0] = histFormat
	prev := -1
	for _, b := range h {
		out = binary.AppendUvarint(out, uint64(b.idx-prev))
		out = binary.AppendUvarint(out, uint64(b.count))
		prev = b.idx
	}
	return out
}

// decodeBlob parses encodeBlob's output. An empty or nil blob is an empty
// histogram.
func decodeBlob(p []byte) (sparse, error) {
	if len(p) == 0 {
		return nil, nil
	}
	if p[0] != histFormat {
		return nil, fmt.Errorf("%w: format %d", errHist, p[0])
	}
	p = p[1:]
	var h sparse
	prev := -1
	for len(p) > 0 {
		d, n := binary.Uvarint(p)
		if n <= 0 || d == 0 || d > maxHistSlots {
			return nil, errHist
		}
		p = p[n:]
		c, n := binary.Uvarint(p)
		if n <= 0 || c > 1<<62 {
			return nil, errHist
		}
		p = p[n:]
		prev += int(d)
		if prev >= maxHistSlots {
			return nil, errHist
		}
		h = append(h, bin{idx: prev, count: int64(c)})
	}
	return h, nil
}

// encodeArray is the PostgreSQL form: a BIGINT[] literal of the dense
// histogram without its trailing zeros, so that hist_add can sum two arrays
// element by element in SQL.
func encodeArray(h sparse) string {
	var sb strings.Builder
	sb.WriteByte('{')
	next := 0
	for k, b := range h {
		for ; next < b.idx; next++ {
			sb.WriteString("0,")
		}
		sb.WriteString(strconv.FormatInt(b.count, 10))
		if k < len(h)-1 {
			sb.WriteByte(',')
		}
		next = b.idx + 1
	}
	sb.WriteByte('}')
	return sb.String()
}

// decodeArray parses a BIGINT[] in PostgreSQL's text form ("{1,0,3}").
func decodeArray(s string) (sparse, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "{}" {
		return nil, nil
	}
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("%w: %.20q", errHist, s)
	}
	var h sparse
	for i, f := range strings.Split(s[1:len(s)-1], ",") {
		if i >= maxHistSlots {
			return nil, errHist
		}
		if f == "NULL" {
			continue
		}
		c, err := strconv.ParseInt(f, 10, 64)
		if err != nil || c < 0 {
			return nil, fmt.Errorf("%w: %.20q", errHist, f)
		}
		if c > 0 {
			h = append(h, bin{idx: i, count: c})
		}
	}
	return h, nil
}

// slotOf returns the histogram slot of d: the first bound >= d, or
// len(bounds) above the last bound.
func slotOf(bounds []time.Duration, d time.Duration) int {
	return sort.Search(len(bounds), func(i int) bool { return bounds[i] >= d })
}
