// The pinned environment the guest sees (harness/src/pinned.rs): SplitMix64 random bytes and clocks.
package main

import (
	"context"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// splitMix64 is the random stream behind random_get, byte-identical to PinnedRandom in Rust.
type splitMix64 struct{ state uint64 }

func (s *splitMix64) next() uint64 {
	s.state += 0x9e3779b97f4a7c15
	z := s.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Read fills p in 8-byte little-endian chunks from the continuing stream, the last chunk
// truncated: one random_get call is one Read (wazero uses io.ReadAtLeast with the whole buffer).
func (s *splitMix64) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		v := s.next()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	return len(p), nil
}

// pinnedClock starts at the pinned values when the instance is created and advances at the real rate.
type pinnedClock struct {
	start     time.Time
	wallEpoch uint64
}

func (c *pinnedClock) nanotime() int64 { return int64(time.Since(c.start)) }

func (c *pinnedClock) walltime() (int64, int32) {
	ns := c.wallEpoch + uint64(time.Since(c.start))
	return int64(ns / 1e9), int32(ns % 1e9)
}

const clockResolution = sys.ClockResolution(1)

// sleeper sleeps for real (Go's time.Sleep re-reads the monotonic clock until it has passed),
// but wakes early when the running call's context is done, so a deadline is not held up.
func sleeper(current func() context.Context) sys.Nanosleep {
	return func(ns int64) {
		if ns <= 0 {
			return
		}
		t := time.NewTimer(time.Duration(ns))
		defer t.Stop()
		select {
		case <-t.C:
		case <-current().Done():
		}
	}
}
