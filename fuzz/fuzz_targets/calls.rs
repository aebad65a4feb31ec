//! Fuzz target `calls`: see harness/src/fuzz/calls.rs for what it generates and what it checks.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| reactor_harness::fuzz::entry("calls", data));

/// Built as an ordinary binary, it replays the files it is given (corpus/calls/*, crash files).
#[cfg(not(fuzzing))]
fn main() {
    reactor_harness::fuzz::replay_files("calls", std::env::args().skip(1));
}
