//! The JSON report: engines, one record per case, and the summary. Written atomically.

use super::{EngineStatus, Summary};
use crate::diff::GoDifference;
use crate::matrix::CaseReport;
use serde_json::{json, Value};

pub fn render(
    engines: &[EngineStatus],
    go: &[String],
    reports: &[CaseReport],
    go_differences: &[GoDifference],
    checks: &[crate::compile_checks::CheckResult],
) -> Value {
    let cases: Vec<Value> = reports
        .iter()
        .map(|c| {
            json!({
                "guest": c.guest,
                "scenario": c.scenario,
                "go": c.go,
                "verdict": c.judgement.verdict.name(),
                "expectations_checked": c.expectations_checked(),
                "expectations_failed": c.expectations_failed(),
                "engines": c.runs.iter().map(|r| r.engine.clone()).collect::<Vec<_>>(),
                "reference": c.judgement.reference,
                "divergences": c.judgement.divergences.iter().map(|(engine, d)| json!({
                    "engine": engine,
                    "step": d.step,
                    "what": d.what,
                    "reference": d.reference,
                    "other": d.other,
                })).collect::<Vec<_>>(),
                "stale_known_divergences": c.judgement.stale_known,
                "failures": c.runs.iter().flat_map(|r| r.failures.iter().map(move |f| json!({
                    "engine": r.engine, "step": f.step, "message": f.message,
                }))).collect::<Vec<_>>(),
                "recovered_engine_crashes": c.runs.iter().flat_map(|r| r.recovered_crashes.iter().map(move |m| json!({
                    "engine": r.engine, "message": m,
                }))).collect::<Vec<_>>(),
                // The memory oracle, per engine: the digest compared, or why it was not.
                "memory": c.runs.iter().map(|r| (r.engine.clone(), json!(r.normalized.memory.to_string())))
                    .collect::<serde_json::Map<String, Value>>(),
                "elapsed_ms": c.runs.iter().map(|r| (r.engine.clone(), json!((r.elapsed.as_secs_f64() * 1e4).round() / 10.0)))
                    .collect::<serde_json::Map<String, Value>>(),
            })
        })
        .collect();
    json!({
        "engines": engines,
        "go": go,
        "cases": cases,
        "go_differences": go_differences,
        "compile_checks": checks,
        "summary": Summary::of(reports, engines, checks),
    })
}

/// Writes the report so that a reader never sees half of it, and a later crash cannot leave a
/// truncated file where a complete one was.
pub fn write(path: &std::path::Path, report: &Value) -> anyhow::Result<()> {
    use anyhow::Context;
    let text = serde_json::to_string_pretty(report)?;
    crate::paths::write_atomically(path, text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}
