//! Everything a guest can observe about its environment, pinned once so that every engine gives
//! the guest the same world: argv, env, clocks, random bytes, and the execution budget.

use std::time::{Duration, Instant};

/// argv as every engine passes it. wasmer-style runtimes add argv[0] on their own; Go's heap
/// layout depends on argv, so every engine gets exactly this.
pub const ARGV: &[&str] = &["guest.wasm"];
/// The environment as every engine passes it: nothing from the host leaks in.
pub const ENV: &[(&str, &str)] = &[("REACTOR_HARNESS", "1")];

/// The wall clock reads 2026-01-01T00:00:00Z at instantiation.
pub const WALL_CLOCK_EPOCH: Duration = Duration::from_secs(1_767_225_600);

/// Clocks that start at pinned values and then advance at the real rate. They cannot be frozen:
/// the WASI implementations sleep for real in `poll_oneoff`, and Go's `time.Sleep` re-reads the
/// monotonic clock until the deadline has passed, so a frozen clock would never wake a sleeper.
#[derive(Debug, Clone, Copy)]
pub struct PinnedClock {
    start: Instant,
}

impl PinnedClock {
    pub fn new() -> Self {
        PinnedClock {
            start: Instant::now(),
        }
    }
    /// Nanoseconds since instantiation.
    pub fn monotonic(&self) -> Duration {
        self.start.elapsed()
    }
    /// Time since the Unix epoch.
    pub fn wall(&self) -> Duration {
        WALL_CLOCK_EPOCH + self.start.elapsed()
    }
    pub const RESOLUTION: Duration = Duration::from_nanos(1);
}

impl Default for PinnedClock {
    fn default() -> Self {
        Self::new()
    }
}

/// The random stream every engine hands to `random_get`: SplitMix64 from a fixed seed, so Go's
/// hash seeds, map order and `math/rand` seeds are the same everywhere.
#[derive(Debug, Clone)]
pub struct PinnedRandom {
    state: u64,
}

impl PinnedRandom {
    pub const SEED: u64 = 0x5eed_0f_ba5e_ba11;
    pub fn new() -> Self {
        PinnedRandom { state: Self::SEED }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    pub fn fill(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

impl Default for PinnedRandom {
    fn default() -> Self {
        Self::new()
    }
}

/// How long one step may run. Engines with an epoch or a watchdog use `wall`; engines that can
/// only count instructions use `fuel`. Either way a spinning guest ends as `TrapKind::Timeout`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub wall: Duration,
    pub fuel: u64,
    /// How long the harness waits for one step before it abandons the engine: the last resort
    /// for what neither epoch nor fuel can stop (a guest blocked in a host call, a hung engine).
    pub watchdog: Duration,
}

impl Default for Budget {
    fn default() -> Self {
        // Go's runtime start-up is a few million wasm instructions; a scenario step is far
        // less. Both bounds leave a wide margin and still end a spinner within seconds.
        Budget {
            wall: Duration::from_secs(2),
            fuel: 1_000_000_000,
            watchdog: Duration::from_secs(30),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_random_stream_is_fixed() {
        let mut a = PinnedRandom::new();
        let mut b = PinnedRandom::new();
        let mut buf = [0u8; 13];
        a.fill(&mut buf);
        assert_eq!(&buf[..8], &b.next_u64().to_le_bytes());
        assert_ne!(buf, [0u8; 13]);
    }
}
