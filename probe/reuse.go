package probe

import (
	"maps"
	"reflect"

	"github.com/slaprobe/slaprobe/config"
)

// A reload builds a new Runner for the new config. Compiling every flow
// again costs as much as the first start (and, while the old runner still
// serves runs in flight, twice the compiled flows' memory); most reloads
// change a few flows. So NewRunner takes over the compiled form of every
// flow that Options.Previous compiled from the same config.
//
// A flow's compiled form (compileFlow) is a function of the flow's own
// config, the config's secrets (which references exist) and its defaults
// (timeout, body and redirect limits, TLS); nothing else of the config,
// and none of the runner's options, go into it. So it is reused when the
// secrets and the defaults are the same as the previous config's, and the
// flow is deeply equal to the previous flow of its name, source line
// numbers aside (a flow moves down when one is added above it). Any
// change to the secrets or the defaults compiles every flow again.

// previousFlow is a flow of the previous runner with its compiled form.
type previousFlow struct {
	f  *config.Flow
	cf *compiledFlow
}

// previousFlows returns the compiled flows of prev, by name, that a runner
// for cfg may take over: none when there is no prev or when cfg's secrets
// or defaults differ from prev's, and never one that failed to compile.
func previousFlows(prev *Runner, cfg *config.Config) map[string]previousFlow {
	if prev == nil || prev.cfg.Defaults != cfg.Defaults || !maps.Equal(prev.cfg.Secrets, cfg.Secrets) {
		return nil
	}
	prev.mu.Lock()
	defer prev.mu.Unlock()
	out := make(map[string]previousFlow, len(prev.flows))
	for f, cf := range prev.flows {
		if cf.err == nil {
			out[f.Name] = previousFlow{f, cf}
		}
	}
	return out
}

// Reused returns how many of the runner's flows took over the compiled
// form of Options.Previous's.
func (r *Runner) Reused() int { return r.reused }

// SameFlow reports whether flows a and b are the same but for their source
// line numbers (Line fields, at any depth), which change when lines above
// move and mean nothing to a run: deeply equal, as reflect.DeepEqual says.
// To compare many flows, use a FlowComparer.
func SameFlow(a, b *config.Flow) bool { return NewFlowComparer().Same(a, b) }

// FlowComparer is SameFlow for many flows (a reload compares every flow,
// twice: the runner to keep compiled forms, the daemon to keep state). It
// keeps which field of each struct type met is called Line, which SameFlow
// looked up at every struct value it compared, building reflect's
// StructField of every field: at 50,000 flows the comparisons were 0.37 s
// of a reload's 2.95 s of CPU under load, and take half the time with one
// comparer (BenchmarkSameFlow50k). Not safe for concurrent use.
type FlowComparer struct {
	line map[reflect.Type]int // the index of the type's Line field; -1: none
}

// NewFlowComparer returns a FlowComparer.
func NewFlowComparer() *FlowComparer { return &FlowComparer{line: map[reflect.Type]int{}} }

// Same is SameFlow(a, b).
func (c *FlowComparer) Same(a, b *config.Flow) bool {
	return a == b || a != nil && b != nil && c.equalButLines(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem())
}

// lineField is the index of t's field called Line, or -1.
func (c *FlowComparer) lineField(t reflect.Type) int {
	if i, ok := c.line[t]; ok {
		return i
	}
	i := -1
	if f, ok := t.FieldByName("Line"); ok && len(f.Index) == 1 {
		i = f.Index[0]
	}
	c.line[t] = i
	return i
}

// equalButLines is reflect.DeepEqual for the acyclic values of a config,
// but for the struct fields called Line. Kinds a config does not hold
// (funcs, channels) are equal only when both are nil.
func (c *FlowComparer) equalButLines(x, y reflect.Value) bool {
	if x.IsValid() != y.IsValid() {
		return false
	}
	if !x.IsValid() {
		return true
	}
	if x.Type() != y.Type() {
		return false
	}
	switch x.Kind() {
	case reflect.Struct:
		line := c.lineField(x.Type())
		for i := range x.NumField() {
			if i == line {
				continue
			}
			if !c.equalButLines(x.Field(i), y.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if x.IsNil() || y.IsNil() {
			return x.IsNil() == y.IsNil()
		}
		return x.Pointer() == y.Pointer() || c.equalButLines(x.Elem(), y.Elem())
	case reflect.Interface:
		if x.IsNil() || y.IsNil() {
			return x.IsNil() == y.IsNil()
		}
		return c.equalButLines(x.Elem(), y.Elem())
	case reflect.Slice:
		if x.IsNil() != y.IsNil() || x.Len() != y.Len() {
			return false
		}
		for i := range x.Len() {
			if !c.equalButLines(x.Index(i), y.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := range x.Len() {
			if !c.equalButLines(x.Index(i), y.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if x.IsNil() != y.IsNil() || x.Len() != y.Len() {
			return false
		}
		it := x.MapRange()
		for it.Next() {
			v := y.MapIndex(it.Key())
			if !v.IsValid() || !c.equalButLines(it.Value(), v) {
				return false
			}
		}
		return true
	case reflect.String:
		return x.String() == y.String()
	case reflect.Bool:
		return x.Bool() == y.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return x.Int() == y.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return x.Uint() == y.Uint()
	case reflect.Float32, reflect.Float64:
		return x.Float() == y.Float()
	case reflect.Complex64, reflect.Complex128:
		return x.Complex() == y.Complex()
	default: // func, chan, unsafe pointer
		return x.IsNil() && y.IsNil()
	}
}

// sameSteps reports whether the step lists a and b are the same but for
// their source line numbers.
func sameSteps(a, b []config.Step) bool {
	return NewFlowComparer().equalButLines(reflect.ValueOf(a), reflect.ValueOf(b))
}
