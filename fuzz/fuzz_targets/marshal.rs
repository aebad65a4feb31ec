//! Fuzz target `marshal`: see harness/src/fuzz/marshal.rs for what it generates and what it checks.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| reactor_harness::fuzz::entry("marshal", data));

/// Built as an ordinary binary, it replays the files it is given (corpus/marshal/*, crash files).
#[cfg(not(fuzzing))]
fn main() {
    reactor_harness::fuzz::replay_files("marshal", std::env::args().skip(1));
}
