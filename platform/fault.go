package platform

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/slaprobe/slaprobe/config"
)

// Fault is one injected fault: requests of Service whose function is in
// Functions (every function of the service when empty) fail in Mode while
// the fault is active, in [Start, End).
type Fault struct {
	ID        string        // unique; set by AddFault when empty
	Service   string        // a platform service, e.g. "messaging"
	Functions []string      // e.g. ["send", "receive"]; empty = all
	Mode      string        // config.ModeDown, ModeError, ModeSlow or ModeDrop
	Rate      float64       // share of matching requests affected, in [0, 1]; 0 means 1
	Latency   time.Duration // added wait, for ModeSlow
	Start     time.Time     // zero: since ever
	End       time.Time     // zero: until removed
	Source    string        // the timeline incident id, or "admin"
}

// SourceAdmin is the Source of faults added live.
const SourceAdmin = "admin"

// active reports whether the fault is in force at now.
func (f *Fault) active(now time.Time) bool {
	return (f.Start.IsZero() || !now.Before(f.Start)) && (f.End.IsZero() || now.Before(f.End))
}

// covers reports whether the fault applies to (service, function).
func (f *Fault) covers(service, function string) bool {
	return f.Service == service && (len(f.Functions) == 0 || slices.Contains(f.Functions, function))
}

// rate is the effective rate: 0 means 1.
func (f *Fault) rate() float64 {
	if f.Rate == 0 {
		return 1
	}
	return f.Rate
}

func (f Fault) clone() Fault {
	f.Functions = slices.Clone(f.Functions)
	return f
}

// validate checks a fault against the platform's catalogue.
func validateFault(f *Fault) error {
	fns, ok := functionsOf(f.Service)
	if !ok {
		return fmt.Errorf("service: unknown service %q (known: %s)", f.Service, strings.Join(serviceNames(), ", "))
	}
	for _, fn := range f.Functions {
		if !slices.Contains(fns, fn) {
			return fmt.Errorf("functions: service %s has no function %q (it has: %s)", f.Service, fn, strings.Join(fns, ", "))
		}
	}
	switch f.Mode {
	case config.ModeDown, config.ModeError, config.ModeDrop:
	case config.ModeSlow:
		if f.Latency <= 0 {
			return errors.New("latency: mode slow needs a latency above 0")
		}
	default:
		return fmt.Errorf("mode: unknown mode %q (want down, error, slow or drop)", f.Mode)
	}
	if !(f.Rate >= 0 && f.Rate <= 1) { // also rejects NaN
		return fmt.Errorf("rate: %v is outside [0, 1]", f.Rate)
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency: %v is negative", f.Latency)
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.End.Before(f.Start) {
		return fmt.Errorf("end %s is before start %s", f.End.Format(time.RFC3339), f.Start.Format(time.RFC3339))
	}
	return nil
}

// AddFault adds a live fault and returns its id. A fault without an ID gets
// one ("f1", "f2", ...). It fails when the fault is invalid, its ID is taken,
// or Limits.Faults live faults are already held (after dropping the expired
// ones).
func (p *Platform) AddFault(f Fault) (string, error) {
	f = f.clone()
	if f.Source == "" {
		f.Source = SourceAdmin
	}
	if err := validateFault(&f); err != nil {
		return "", err
	}
	now := p.clock.Now()
	p.fmu.Lock()
	defer p.fmu.Unlock()
	if f.ID == "" {
		p.faultSeq++
		f.ID = "f" + strconv.FormatUint(p.faultSeq, 10)
	}
	for _, g := range p.faults {
		if g.ID == f.ID {
			return "", fmt.Errorf("id: fault %q already exists", f.ID)
		}
	}
	if p.liveFaults() >= p.limits.Faults {
		p.faults = slices.DeleteFunc(p.faults, func(g Fault) bool {
			return g.Source == SourceAdmin && !g.End.IsZero() && !now.Before(g.End)
		})
		if p.liveFaults() >= p.limits.Faults {
			return "", fmt.Errorf("too many live faults (limit %d): remove some first", p.limits.Faults)
		}
	}
	p.faults = append(p.faults, f)
	var fns any = f.Functions
	if len(f.Functions) == 0 {
		fns = "all"
	}
	p.log.Info("fault added", "id", f.ID, "service", f.Service, "functions", fns,
		"mode", f.Mode, "rate", f.rate(), "latency", f.Latency, "start", logTime(f.Start, "since ever"), "end", logTime(f.End, "until removed"))
	return f.ID, nil
}

// logTime is t for the log, or zero's meaning in words rather than the
// year 1.
func logTime(t time.Time, zero string) any {
	if t.IsZero() {
		return zero
	}
	return t
}

func (p *Platform) liveFaults() int {
	n := 0
	for _, f := range p.faults {
		if f.Source == SourceAdmin {
			n++
		}
	}
	return n
}

// Faults returns the faults active now (by Options.Clock), timeline and live,
// ordered by start and id.
func (p *Platform) Faults() []Fault { return p.activeFaults(p.clock.Now()) }

func (p *Platform) activeFaults(now time.Time) []Fault {
	p.fmu.RLock()
	var out []Fault
	for i := range p.faults {
		if p.faults[i].active(now) {
			out = append(out, p.faults[i].clone())
		}
	}
	p.fmu.RUnlock()
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ClearFaults removes every fault, the timeline ones included.
func (p *Platform) ClearFaults() {
	p.fmu.Lock()
	n := len(p.faults)
	p.faults = nil
	p.fmu.Unlock()
	p.log.Info("faults cleared", "count", n)
}

// RemoveFault removes the fault with the given id and reports whether there
// was one.
func (p *Platform) RemoveFault(id string) bool {
	p.fmu.Lock()
	defer p.fmu.Unlock()
	for i := range p.faults {
		if p.faults[i].ID == id {
			p.faults = slices.Delete(p.faults, i, i+1)
			p.log.Info("fault removed", "id", id)
			return true
		}
	}
	return false
}

// timelineFaults turns the incidents of timelines into faults. Incidents with
// an unknown mode are skipped with a warning (config validation rejects them
// before they get here).
func timelineFaults(tls []*config.Timeline, log interface {
	Warn(msg string, args ...any)
}) []Fault {
	var out []Fault
	seen := map[string]int{}
	for _, tl := range tls {
		if tl == nil {
			continue
		}
		for _, inc := range tl.Incidents {
			id := inc.ID
			if tl.Name != "" {
				id = tl.Name + ":" + inc.ID
			}
			if n := seen[id]; n > 0 {
				seen[id] = n + 1
				id += "#" + strconv.Itoa(n+1)
			} else {
				seen[id] = 1
			}
			f := Fault{
				ID:        id,
				Service:   inc.Service,
				Functions: slices.Clone(inc.Functions),
				Mode:      inc.Mode,
				Rate:      inc.Rate,
				Latency:   inc.Latency,
				Start:     inc.Start,
				End:       inc.End,
				Source:    inc.ID,
			}
			switch f.Mode {
			case config.ModeDown, config.ModeError, config.ModeSlow, config.ModeDrop:
			default:
				log.Warn("timeline incident skipped: unknown fault mode", "timeline", tl.File, "incident", inc.ID, "mode", inc.Mode)
				continue
			}
			if fns, ok := functionsOf(f.Service); !ok {
				log.Warn("timeline incident names a service the demo platform does not have", "timeline", tl.File, "incident", inc.ID, "service", inc.Service)
			} else {
				// A function the service lacks (a typo) matches no request:
				// the incident would inject nothing without a word.
				for _, fn := range f.Functions {
					if !slices.Contains(fns, fn) {
						log.Warn("timeline incident names a function its service does not have on the demo platform", "timeline", tl.File, "incident", inc.ID, "service", inc.Service, "function", fn, "functions", strings.Join(fns, ", "))
					}
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// verdict is what the active faults decide for one request.
type verdict struct {
	down    *Fault
	err     *Fault
	latency time.Duration
	drop    *Fault
}

// judge decides the faults for one request of (service, function) at now.
// sample is the request's deterministic draw in [0, 1).
func (p *Platform) judge(service, function string, now time.Time, sample float64) verdict {
	var v verdict
	p.fmu.RLock()
	defer p.fmu.RUnlock()
	for i := range p.faults {
		f := &p.faults[i]
		if f.Service != service || !f.active(now) || sample >= f.rate() {
			continue
		}
		if f.Mode == config.ModeDrop {
			// A drop on either side of a delivery loses what is sent.
			if function == "send" && (len(f.Functions) == 0 ||
				slices.Contains(f.Functions, "send") || slices.Contains(f.Functions, "receive")) && v.drop == nil {
				c := f.clone()
				v.drop = &c
			}
			continue
		}
		if !f.covers(service, function) {
			continue
		}
		switch f.Mode {
		case config.ModeDown:
			if v.down == nil {
				c := f.clone()
				v.down = &c
			}
		case config.ModeError:
			if v.err == nil {
				c := f.clone()
				v.err = &c
			}
		case config.ModeSlow:
			v.latency = max(v.latency, f.Latency)
		}
	}
	return v
}

// sample maps a request to a deterministic draw in [0, 1): an FNV-1a hash
// (finalized by mix) of its service, function, method, path and query, body,
// and the virtual time truncated to the second.
func sample(service, function, method, target string, body []byte, now time.Time) float64 {
	h := fnv.New64a()
	for _, s := range []string{service, function, method, target} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(body)
	h.Write([]byte{0})
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(now.Truncate(time.Second).Unix()))
	h.Write(b[:])
	return float64(mix(h.Sum64())>>11) / (1 << 53)
}

// mix is MurmurHash3's 64-bit finalizer. FNV alone barely stirs the high bits
// when only the last bytes differ (requests a second apart), so the draw would
// hardly move; the finalizer spreads every input bit over the whole word.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
