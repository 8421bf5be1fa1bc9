package store

import (
	"reflect"
	"testing"
	"time"
)

func TestHistEncodings(t *testing.T) {
	tests := []struct {
		name string
		h    sparse
	}{
		{"empty", nil},
		{"one", sparse{{idx: 40, count: 1}}},
		{"first slot and overflow", sparse{{idx: 0, count: 3}, {idx: 97, count: 1 << 40}}},
		{"several", sparse{{idx: 1, count: 1}, {idx: 2, count: 5}, {idx: 60, count: 300}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := decodeBlob(encodeBlob(tc.h))
			if err != nil || !reflect.DeepEqual(b, tc.h) {
				t.Errorf("blob round trip = %v, %v; want %v", b, err, tc.h)
			}
			a, err := decodeArray(encodeArray(tc.h))
			if err != nil || !reflect.DeepEqual(a, tc.h) {
				t.Errorf("array round trip of %q = %v, %v; want %v", encodeArray(tc.h), a, err, tc.h)
			}
		})
	}
	if got := len(encodeBlob(sparse{{idx: 40, count: 1}})); got != 3 {
		t.Errorf("one-sample blob is %d bytes, want 3", got)
	}
	m := merge(sparse{{1, 1}, {5, 2}}, sparse{{0, 1}, {5, 3}, {9, 1}})
	if want := (sparse{{0, 1}, {1, 1}, {5, 5}, {9, 1}}); !reflect.DeepEqual(m, want) {
		t.Errorf("merge = %v, want %v", m, want)
	}
	for _, bad := range [][]byte{{9}, {1, 0x80}, {1, 0, 1}, {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1}} {
		if _, err := decodeBlob(bad); err == nil {
			t.Errorf("decodeBlob(%x) accepted", bad)
		}
	}
	b := LatencyBounds()
	for _, d := range []time.Duration{0, time.Millisecond, 55 * time.Millisecond, time.Minute, time.Hour} {
		i := slotOf(b, d)
		if i < len(b) && d > b[i] || i > 0 && i <= len(b) && d <= b[i-1] {
			t.Errorf("slotOf(%v) = %d, outside its bounds", d, i)
		}
	}
}

func FuzzDecodeBlob(f *testing.F) {
	f.Add(encodeBlob(sparse{{3, 4}, {90, 1}}))
	f.Add([]byte{1, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := decodeBlob(p)
		if err != nil {
			return
		}
		h2, err := decodeBlob(encodeBlob(h))
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("re-encoding %x changed it: %v -> %v (%v)", p, h, h2, err)
		}
	})
}
