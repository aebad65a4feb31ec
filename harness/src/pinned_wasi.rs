//! The WASI preview1 functions that every in-process engine serves itself, over guest memory,
//! instead of its WASI layer's own: `random_get`, `clock_time_get` and `poll_oneoff`. They are
//! what makes the pinned environment of pinned.rs byte-identical on every engine (the
//! out-of-process hosts implement the same rules in Go and JS; see hosts/PROTOCOL.md).
//!
//! Why each is ours: wasmtime-wasi 48 draws one `u32` per random byte (`random_iter::<u8>()`), so
//! a seeded generator still gives a different byte stream than the others; no WASI layer here
//! offers a virtual clock, and their `poll_oneoff` sleeps for real; wasix has no hook for either.

use crate::pinned::{Errno, PinnedClock, PinnedRandom};
use std::time::Duration;

/// The preview1 import module.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The pinned clock and random stream of one instance.
#[derive(Debug, Clone, Default)]
pub struct PinnedWasi {
    pub clock: PinnedClock,
    pub random: PinnedRandom,
}

fn slice(mem: &mut [u8], at: u32, len: u64) -> Result<&mut [u8], Errno> {
    let start = at as usize;
    let end = (at as u64).checked_add(len).ok_or(Errno::FAULT)?;
    mem.get_mut(start..end as usize).ok_or(Errno::FAULT)
}

fn result(r: Result<(), Errno>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => i32::from(e.0),
    }
}

const EVENT_CLOCK: u8 = 0;
const EVENT_FD_READ: u8 = 1;
const EVENT_FD_WRITE: u8 = 2;
const SUBSCRIPTION_SIZE: u64 = 48;
const EVENT_SIZE: u64 = 32;

impl PinnedWasi {
    pub fn new() -> Self {
        Self::default()
    }

    /// `random_get(buf, buf_len) -> errno`: the pinned stream, one `fill` per call.
    pub fn random_get(&mut self, mem: &mut [u8], buf: u32, len: u32) -> i32 {
        result(slice(mem, buf, u64::from(len)).map(|dst| self.random.fill(dst)))
    }

    /// `clock_time_get(id, precision, *time) -> errno`: virtual time (see [`PinnedClock`]).
    pub fn clock_time_get(&mut self, mem: &mut [u8], id: u32, out: u32) -> i32 {
        result((|| {
            let dst = slice(mem, out, 8)?;
            dst.copy_from_slice(&self.clock.read(id)?.to_le_bytes());
            Ok(())
        })())
    }

    /// `poll_oneoff(in, out, nsubscriptions, *nevents) -> errno`, with wazero's semantics so
    /// that wazero (whose own `poll_oneoff` is kept, sleeping through a virtual-time hook) and
    /// the engines that use this agree: every subscription gets an event; a clock subscription
    /// must be relative (`abstime` is `ENOTSUP`) and the call sleeps, in virtual time, for the
    /// shortest timeout; stdio is ready to read (stdin is empty) and `ENOTSUP` to write; other
    /// descriptors are `EBADF` (the harness gives guests none).
    pub fn poll_oneoff(
        &mut self,
        mem: &mut [u8],
        input: u32,
        output: u32,
        n: u32,
        nevents: u32,
    ) -> i32 {
        result(self.poll(mem, [input, output, n, nevents]))
    }

    fn poll(&mut self, mem: &mut [u8], [input, output, n, nevents]: [u32; 4]) -> Result<(), Errno> {
        if n == 0 {
            return Err(Errno::INVAL);
        }
        let subs = slice(mem, input, u64::from(n) * SUBSCRIPTION_SIZE)?.to_vec();
        slice(mem, output, u64::from(n) * EVENT_SIZE)?.fill(0);
        slice(mem, nevents, 4)?.copy_from_slice(&n.to_le_bytes());
        let mut sleep: Option<u64> = None;
        for (i, sub) in subs.chunks_exact(SUBSCRIPTION_SIZE as usize).enumerate() {
            let u64_at = |o: usize| u64::from_le_bytes(sub[o..o + 8].try_into().expect("8 bytes"));
            let tag = sub[8];
            let errno = match tag {
                EVENT_CLOCK => {
                    match u16::from_le_bytes([sub[40], sub[41]]) {
                        0 => {}
                        1 => return Err(Errno::NOTSUP),
                        _ => return Err(Errno::INVAL),
                    }
                    let timeout = u64_at(24);
                    sleep = Some(sleep.map_or(timeout, |s| s.min(timeout)));
                    Errno::SUCCESS
                }
                EVENT_FD_READ | EVENT_FD_WRITE => {
                    let fd = i32::from_le_bytes(sub[16..20].try_into().expect("4 bytes"));
                    match (fd, tag) {
                        (..0, _) => return Err(Errno::BADF),
                        (0..=2, EVENT_FD_READ) => Errno::SUCCESS,
                        (0..=2, _) => Errno::NOTSUP,
                        _ => Errno::BADF,
                    }
                }
                _ => return Err(Errno::INVAL),
            };
            let event = slice(mem, output + (i as u32) * EVENT_SIZE as u32, EVENT_SIZE)?;
            event[0..8].copy_from_slice(&sub[0..8]);
            event[8..10].copy_from_slice(&errno.0.to_le_bytes());
            event[10] = tag;
        }
        if let Some(ns) = sleep {
            self.clock.sleep(Duration::from_nanos(ns));
        }
        Ok(())
    }
}

/// Links `random_get`, `clock_time_get` and `poll_oneoff` into a wasmtime or wasmi `Linker`,
/// shadowing the WASI layer's own, for a store whose data has a `PinnedWasi` in `$field`. One
/// macro because the two linkers' APIs have the same shape but no common trait.
#[macro_export]
macro_rules! link_pinned_wasi {
    ($linker:expr, $caller:ident, $extern:ident, $state:ty, $field:ident) => {{
        fn with_pinned(
            c: &mut $caller<'_, $state>,
            f: impl FnOnce(&mut $crate::pinned_wasi::PinnedWasi, &mut [u8]) -> i32,
        ) -> i32 {
            let Some(mem) = c.get_export("memory").and_then($extern::into_memory) else {
                return i32::from($crate::pinned::Errno::FAULT.0);
            };
            let (mem, state) = mem.data_and_store_mut(c);
            f(&mut state.$field, mem)
        }
        let module = $crate::pinned_wasi::MODULE;
        let why =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("linking the pinned WASI functions: {e}");
        $linker.allow_shadowing(true);
        $linker
            .func_wrap(
                module,
                "random_get",
                |mut c: $caller<'_, $state>, buf: i32, len: i32| {
                    with_pinned(&mut c, |w, mem| w.random_get(mem, buf as u32, len as u32))
                },
            )
            .map_err(|e| why(&e))?;
        $linker
            .func_wrap(
                module,
                "clock_time_get",
                |mut c: $caller<'_, $state>, id: i32, _precision: i64, out: i32| {
                    with_pinned(&mut c, |w, mem| {
                        w.clock_time_get(mem, id as u32, out as u32)
                    })
                },
            )
            .map_err(|e| why(&e))?;
        $linker
            .func_wrap(
                module,
                "poll_oneoff",
                |mut c: $caller<'_, $state>, input: i32, output: i32, n: i32, nevents: i32| {
                    with_pinned(&mut c, |w, mem| {
                        w.poll_oneoff(mem, input as u32, output as u32, n as u32, nevents as u32)
                    })
                },
            )
            .map_err(|e| why(&e))?;
        $linker.allow_shadowing(false);
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock_sub(userdata: u64, timeout: u64, flags: u16) -> Vec<u8> {
        let mut s = vec![0u8; 48];
        s[0..8].copy_from_slice(&userdata.to_le_bytes());
        s[8] = EVENT_CLOCK;
        s[16..20].copy_from_slice(&1u32.to_le_bytes());
        s[24..32].copy_from_slice(&timeout.to_le_bytes());
        s[40..42].copy_from_slice(&flags.to_le_bytes());
        s
    }

    #[test]
    fn a_clock_subscription_sleeps_in_virtual_time_and_fires() {
        let mut w = PinnedWasi::new();
        let mut mem = vec![0u8; 512];
        mem[0..48].copy_from_slice(&clock_sub(7, 5_000_000, 0));
        mem[48..96].copy_from_slice(&clock_sub(8, 9_000_000, 0));
        assert_eq!(w.poll_oneoff(&mut mem, 0, 128, 2, 256), 0);
        assert_eq!(u32::from_le_bytes(mem[256..260].try_into().unwrap()), 2);
        assert_eq!(u64::from_le_bytes(mem[128..136].try_into().unwrap()), 7);
        assert_eq!(u64::from_le_bytes(mem[160..168].try_into().unwrap()), 8);
        assert_eq!(
            w.clock.monotonic(),
            Duration::from_millis(5),
            "sleeps the shortest timeout"
        );
        assert_eq!(w.clock_time_get(&mut mem, 1, 300), 0);
        assert_eq!(
            u64::from_le_bytes(mem[300..308].try_into().unwrap()),
            5_000_000
        );
        assert_eq!(
            w.clock.monotonic(),
            Duration::from_millis(5) + PinnedClock::TICK
        );
    }

    #[test]
    fn bad_subscriptions_and_buffers_are_errnos() {
        let mut w = PinnedWasi::new();
        let mut mem = vec![0u8; 128];
        mem[0..48].copy_from_slice(&clock_sub(1, 10, 1));
        assert_eq!(
            w.poll_oneoff(&mut mem, 0, 64, 1, 100),
            i32::from(Errno::NOTSUP.0)
        );
        assert_eq!(
            w.poll_oneoff(&mut mem, 0, 64, 0, 100),
            i32::from(Errno::INVAL.0)
        );
        assert_eq!(
            w.poll_oneoff(&mut mem, 100, 0, 1, 0),
            i32::from(Errno::FAULT.0)
        );
        assert_eq!(w.random_get(&mut mem, 120, 9), i32::from(Errno::FAULT.0));
        assert_eq!(w.clock_time_get(&mut mem, 2, 0), i32::from(Errno::INVAL.0));
        assert_eq!(w.clock.monotonic(), Duration::ZERO, "nothing advanced time");
    }
}
