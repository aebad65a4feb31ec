//! reactor-harness: a differential conformance suite for Go's WebAssembly reactor ABI. It builds
//! Go reactors, runs the same scenario under several runtimes, and compares what each one did.

pub mod bench;
pub mod compile_checks;
pub mod diff;
pub mod engine;
pub mod engines;
pub mod expect;
pub mod fuzz;
pub mod guests;
pub mod hostabi;
pub mod matrix;
pub mod normalize;
pub mod paths;
pub mod pinned;
pub mod pinned_wasi;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod toolchains;
pub mod trace;
