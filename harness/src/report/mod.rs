//! Reporters: the same run, rendered for a terminal (text) and for machines (JSON).

pub mod json;
pub mod text;

use crate::engine::Engine;
use crate::matrix::CaseReport;
use std::sync::Arc;

/// One engine as the run saw it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineStatus {
    pub name: String,
    pub implementation: String,
    pub version: String,
    pub available: bool,
    pub reason: Option<String>,
}

impl EngineStatus {
    pub fn probe(engine: &Arc<dyn Engine>) -> Self {
        let availability = engine.availability();
        EngineStatus {
            name: engine.name().to_string(),
            implementation: engine.implementation().to_string(),
            version: engine.version(),
            available: availability.is_ok(),
            reason: availability.err(),
        }
    }
}

/// Counts over a run, as both reporters print them.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub cases: usize,
    pub agree: usize,
    pub diverged: usize,
    pub known_divergence: usize,
    pub poisoned: usize,
    pub expectations_checked: usize,
    pub expectations_failed: usize,
    pub stale_known_divergences: usize,
    pub unavailable_engines: usize,
    pub compile_checks: usize,
    pub compile_checks_failed: usize,
}

impl Summary {
    pub fn of(
        cases: &[CaseReport],
        engines: &[EngineStatus],
        checks: &[crate::compile_checks::CheckResult],
    ) -> Self {
        use crate::diff::Verdict::*;
        let mut s = Summary {
            cases: cases.len(),
            ..Default::default()
        };
        for c in cases {
            match c.judgement.verdict {
                Agree => s.agree += 1,
                Diverged => s.diverged += 1,
                KnownDivergence => s.known_divergence += 1,
                Poisoned => s.poisoned += 1,
            }
            s.expectations_checked += c.expectations_checked();
            s.expectations_failed += c.expectations_failed();
            s.stale_known_divergences += c.judgement.stale_known.len();
        }
        s.unavailable_engines = engines.iter().filter(|e| !e.available).count();
        s.compile_checks = checks.len();
        s.compile_checks_failed = checks.iter().filter(|c| !c.ok).count();
        s
    }

    pub fn has_findings(&self) -> bool {
        self.diverged
            + self.poisoned
            + self.expectations_failed
            + self.stale_known_divergences
            + self.compile_checks_failed
            > 0
    }
}
