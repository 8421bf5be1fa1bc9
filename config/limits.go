package config

import "time"

// Floors of the timing settings: below them a flow cannot do useful work,
// and a scheduler or ticker at nanosecond periods only burns CPU (an
// interval of 1ns froze the daemon).
const (
	MinInterval  = time.Second            // interval, defaults.interval, demo --interval
	MinTimeout   = 100 * time.Millisecond // timeout of flows and steps
	MinPollEvery = 10 * time.Millisecond  // poll.every
	MinRetention = time.Hour              // storage.retention
	MinResend    = time.Second            // alerting.alertmanager.resend

	MaxBodyLimit = 1 << 30 // max_body_bytes at most: a body is read into memory
)
