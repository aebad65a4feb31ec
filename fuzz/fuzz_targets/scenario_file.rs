//! Fuzzes the scenario-file reader: arbitrary bytes must give a scenario list or an error, never a
//! panic, and every value it accepts must print back to the same value.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| reactor_harness::scenario::check_scenario_file(data));

/// Built as an ordinary binary, it replays the files it is given (e.g. corpus/scenario_file/*).
#[cfg(not(fuzzing))]
fn main() {
    for path in std::env::args().skip(1) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        reactor_harness::scenario::check_scenario_file(&data);
        println!("{path}: ok");
    }
}
