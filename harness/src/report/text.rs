//! The terminal report: a guest x scenario by engine matrix, then the first divergent step of
//! every divergent case, the failed expectations, and a summary.

use super::{EngineStatus, Summary};
use crate::diff::GoDifference;
use crate::diff::Verdict;
use crate::matrix::CaseReport;
use std::fmt::Write;

/// One cell of the matrix: how this engine fared in this case.
fn cell(case: &CaseReport, engine: &str) -> &'static str {
    let Some(run) = case.runs.iter().find(|r| r.engine == engine) else {
        return "-";
    };
    if case.judgement.stale_known.iter().any(|e| e == engine) {
        return "STALE";
    }
    if let Some((_, d)) = case.judgement.divergences.iter().find(|(e, _)| e == engine) {
        return if d.nondeterministic {
            "poisoned"
        } else if case.judgement.verdict == Verdict::KnownDivergence || run.exempt {
            "known"
        } else {
            "DIVERGED"
        };
    }
    if !run.failures.is_empty() {
        return "FAILED";
    }
    if case.judgement.reference.as_deref() == Some(engine) {
        "ok (ref)"
    } else {
        "ok"
    }
}

pub fn render(
    engines: &[EngineStatus],
    cases: &[CaseReport],
    go_differences: &[GoDifference],
    checks: &[crate::compile_checks::CheckResult],
) -> String {
    let mut out = String::new();
    let ran: Vec<&EngineStatus> = engines.iter().filter(|e| e.available).collect();
    let label = |c: &CaseReport| format!("{}/{}", c.guest, c.scenario);
    let width = cases
        .iter()
        .map(|c| label(c).len())
        .max()
        .unwrap_or(10)
        .max(10);
    let col = ran.iter().map(|e| e.name.len()).max().unwrap_or(8).max(9);
    let _ = write!(out, "{:width$}  {:8}", "guest/scenario", "go");
    for e in &ran {
        let _ = write!(out, "  {:col$}", e.name);
    }
    out.push('\n');
    for c in cases {
        let _ = write!(out, "{:width$}  {:8}", label(c), c.go);
        for e in &ran {
            let _ = write!(out, "  {:col$}", cell(c, &e.name));
        }
        out.push('\n');
    }

    for c in cases {
        for (engine, d) in &c.judgement.divergences {
            let step = d.place();
            let reference = c.judgement.reference.as_deref().unwrap_or("?");
            let _ = writeln!(
                out,
                "\n{} on {engine} vs {reference}: {step}, {} differs",
                label(c),
                d.what
            );
            if let Some(s) = d.step.and_then(|s| c.runs[0].trace.steps.get(s)) {
                let _ = writeln!(out, "  step: {}", s.step);
            }
            for line in d.reference.lines() {
                let _ = writeln!(out, "  - {reference}: {line}");
            }
            for line in d.other.lines() {
                let _ = writeln!(out, "  + {engine}: {line}");
            }
        }
        for engine in &c.judgement.stale_known {
            let _ = writeln!(
                out,
                "\n{} on {engine}: listed as a known divergence in harness/expectations/{engine}.toml, but it now behaves like the reference; remove the entry",
                label(c)
            );
        }
        for r in &c.runs {
            for m in &r.recovered_crashes {
                let _ = writeln!(
                    out,
                    "\nENGINE CRASH (recovered on a fresh host, not counted as a divergence): {} at {} on {}: {m}",
                    label(c),
                    c.go,
                    r.engine
                );
            }
            for f in &r.failures {
                let _ = writeln!(
                    out,
                    "\n{} on {}: expectation failed at step {}: {}",
                    label(c),
                    r.engine,
                    f.step,
                    f.message
                );
            }
        }
    }

    for g in go_differences {
        let d = &g.divergence;
        let step = d.place();
        let _ = writeln!(
            out,
            "\nGo-version difference (not a runtime divergence): {}/{} changed from {} to {} on {}: {step}, {} differs",
            g.guest,
            g.scenario,
            g.from,
            g.to,
            g.engines.join(", "),
            d.what
        );
        for line in d.reference.lines() {
            let _ = writeln!(out, "  - {}: {line}", g.from);
        }
        for line in d.other.lines() {
            let _ = writeln!(out, "  + {}: {line}", g.to);
        }
    }
    for c in checks.iter().filter(|c| !c.ok) {
        let _ = writeln!(
            out,
            "\ncompile check {} with {} FAILED: {}",
            c.case,
            c.go,
            c.problem.as_deref().unwrap_or("")
        );
    }
    let s = Summary::of(cases, engines, checks);
    if s.compile_checks > 0 {
        let _ = writeln!(
            out,
            "\ncompile checks: {} run, {} failed",
            s.compile_checks, s.compile_checks_failed
        );
    }
    let _ = writeln!(
        out,
        "\n{} cases: {} agree, {} diverged, {} known divergence, {} poisoned; {} expectations checked, {} failed; {} stale known divergences",
        s.cases, s.agree, s.diverged, s.known_divergence, s.poisoned, s.expectations_checked, s.expectations_failed, s.stale_known_divergences
    );
    for e in engines.iter().filter(|e| !e.available) {
        let _ = writeln!(
            out,
            "ENGINE NOT RUN: {} ({}) is unavailable: {}",
            e.name,
            e.implementation,
            e.reason.as_deref().unwrap_or("no reason given")
        );
    }
    out
}
