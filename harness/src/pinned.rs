//! Everything a guest can observe about its environment, pinned once so that every engine gives
//! the guest the same world: argv, env, clocks, random bytes, and the execution budget.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// argv as every engine passes it. wasmer-style runtimes add argv[0] on their own; Go's heap
/// layout depends on argv, so every engine gets exactly this.
pub const ARGV: &[&str] = &["guest.wasm"];
/// The environment as every engine passes it: nothing from the host leaks in.
pub const ENV: &[(&str, &str)] = &[("REACTOR_HARNESS", "1")];

/// The wall clock reads 2026-01-01T00:00:00Z at instantiation.
pub const WALL_CLOCK_EPOCH: Duration = Duration::from_secs(1_767_225_600);

/// Virtual time: the guest's clocks advance only through what the guest does, so a run's every
/// clock reading, and therefore Go's heap, is the same on every engine and in every run.
///
/// - Monotonic time starts at 0 and realtime at [`WALL_CLOCK_EPOCH`]; both read one counter.
/// - Every `clock_time_get` of either clock returns the counter and then advances it by
///   [`PinnedClock::TICK`], so a guest that polls the clock in a loop still sees time pass.
/// - `poll_oneoff` with clock subscriptions does not sleep: it advances the counter by the
///   shortest timeout and reports the subscriptions as fired (wazero's semantics: every clock
///   subscription is acknowledged, and the sleep is the shortest timeout).
///
/// Real clocks made Go's memory differ between two runs on one engine (nanotime readings in the
/// scheduler, timers and GC state, and scheduling decisions that follow from them), which left
/// the memory oracle nothing to compare. Execution budgets stay on real time (see [`Budget`]).
#[derive(Debug, Clone, Default)]
pub struct PinnedClock {
    now: Arc<AtomicU64>,
}

impl PinnedClock {
    /// How far one clock reading advances time.
    pub const TICK: Duration = Duration::from_micros(1);
    pub const RESOLUTION: Duration = Duration::from_nanos(1);

    pub fn new() -> Self {
        Self::default()
    }
    /// Monotonic time now, without advancing it (for a WASI layer's own bookkeeping).
    pub fn monotonic(&self) -> Duration {
        Duration::from_nanos(self.now.load(Ordering::SeqCst))
    }
    /// Realtime now, without advancing it.
    pub fn wall(&self) -> Duration {
        WALL_CLOCK_EPOCH + self.monotonic()
    }
    /// A guest's reading of clock `id` (0 realtime, 1 monotonic), which advances time by one tick.
    /// Other clocks (the CPU-time ones) are `EINVAL`, as in wazero.
    pub fn read(&self, id: u32) -> Result<u64, Errno> {
        let base = match id {
            0 => WALL_CLOCK_EPOCH.as_nanos() as u64,
            1 => 0,
            _ => return Err(Errno::INVAL),
        };
        let now = self
            .now
            .fetch_add(Self::TICK.as_nanos() as u64, Ordering::SeqCst);
        Ok(base.wrapping_add(now))
    }
    /// What a sleep does in virtual time.
    pub fn sleep(&self, d: Duration) {
        self.now
            .fetch_add(d.as_nanos().min(u64::MAX as u128) as u64, Ordering::SeqCst);
    }
}

/// A WASI preview1 errno, for the functions the harness serves itself (`pinned_wasi.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub u16);

impl Errno {
    pub const SUCCESS: Errno = Errno(0);
    pub const BADF: Errno = Errno(8);
    pub const FAULT: Errno = Errno(21);
    pub const INVAL: Errno = Errno(28);
    pub const NOTSUP: Errno = Errno(58);
}

/// The random stream every engine hands to `random_get`: SplitMix64 from a fixed seed, so Go's
/// hash seeds, map order and `math/rand` seeds are the same everywhere.
#[derive(Debug, Clone)]
pub struct PinnedRandom {
    state: u64,
}

impl PinnedRandom {
    pub const SEED: u64 = 0x005e_ed0f_ba5e_ba11;
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
