// The pinned environment the guest sees (harness/src/pinned.rs): SplitMix64 random bytes and clocks.
package main

import (
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

// virtualClock is the pinned virtual time of harness/src/pinned.rs: monotonic time starts at 0
// and realtime at wallEpoch, both read one counter, and every reading advances it by one tick.
// wazero's own poll_oneoff stays: it sleeps through Nanosleep, which advances the counter by
// the timeout instead of waiting, so Go's timers fire at once and at the same virtual instant
// on every engine. wazero reads the clocks only for clock_time_get, so the count of readings
// (and so the guest's memory) is the same as on the engines that serve the call themselves.
type virtualClock struct {
	now       uint64
	wallEpoch uint64
}

const tick = 1000 // ns per reading, PinnedClock::TICK

func (c *virtualClock) read() uint64 {
	now := c.now
	c.now += tick
	return now
}

func (c *virtualClock) nanotime() int64 { return int64(c.read()) }

func (c *virtualClock) walltime() (int64, int32) {
	ns := c.wallEpoch + c.read()
	return int64(ns / 1e9), int32(ns % 1e9)
}

func (c *virtualClock) nanosleep(ns int64) {
	if ns > 0 {
		c.now += uint64(ns)
	}
}

const clockResolution = sys.ClockResolution(1)
