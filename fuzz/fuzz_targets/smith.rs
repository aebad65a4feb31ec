//! Fuzz target `smith`: see harness/src/fuzz/smith.rs for what it generates and what it checks.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| reactor_harness::fuzz::entry("smith", data));

/// Built as an ordinary binary, it replays the files it is given (corpus/smith/*, crash files).
#[cfg(not(fuzzing))]
fn main() {
    reactor_harness::fuzz::replay_files("smith", std::env::args().skip(1));
}
