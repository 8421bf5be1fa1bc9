package state

import "testing"

// errorShapeSamples are errors as the probe words them (from the runner
// tests: status excerpts, assertions, a poll, a stalled body, a dial).
var errorShapeSamples = []string{
	`login: status 403, want 200: M_FORBIDDEN "User @probe-1:example.org may not log in (attempt 17)"`,
	`check: $.state does not equal "ready" (got "stale")`,
	`check: $['pending'] is 45, want < 10`,
	`receive: expectation not met within 20s: $.messages[*].id does not contain "m-17" (the attempt after it was still waiting at the deadline)`,
	`receive: timeout after 2s: none of 10-99 messages on stream subscribe matched; closest: $.id does not equal "m-1" (got "m-0")`,
	`send: body stalled after 1.2 MB (read timeout 10s)`,
	`login: dial tcp [2001:db8::5]:8448: connection refused`,
}

func BenchmarkErrorShape(b *testing.B) {
	for b.Loop() {
		for _, s := range errorShapeSamples {
			_ = errorShape(s)
		}
	}
}
