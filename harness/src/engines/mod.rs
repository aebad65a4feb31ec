//! One file per runtime adapter. Each turns its runtime's API into the [`crate::engine`] traits
//! and maps its own errors into [`crate::trace::TrapKind`]; nothing else is engine-specific.

pub mod node;
pub mod process;
#[cfg(feature = "wasmer")]
pub mod wasmer;
pub mod wasmi;
pub mod wasmtime;
pub mod wazero;
