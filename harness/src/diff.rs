//! Verdicts: compares the normalised traces of every engine for one case, against the known
//! divergences listed in `harness/expectations/<engine>.toml`.

use crate::expect::describe;
use crate::trace::{Memory, Outcome, Trace};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Agree,
    Diverged,
    KnownDivergence,
    /// A divergence that involves an engine limit (timeout, stack exhaustion): not evidence
    /// about the ABI either way.
    Poisoned,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Agree => "agree",
            Verdict::Diverged => "diverged",
            Verdict::KnownDivergence => "known-divergence",
            Verdict::Poisoned => "poisoned",
        }
    }
}

/// Where two normalised traces first differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The step index, or None when the difference is in setup.
    pub step: Option<usize>,
    /// Which part of the step differs: outcome, host_calls, stdout, stderr, setup.
    pub what: String,
    pub reference: String,
    pub other: String,
    /// True when either side hit an engine limit at that step.
    pub nondeterministic: bool,
}

impl Divergence {
    /// Where it is, for people: `step 3`, `setup`, or `the end` (the memory after the last step).
    pub fn place(&self) -> String {
        match self.step {
            Some(s) => format!("step {s}"),
            None if self.what == "setup" => "setup".into(),
            None => "the end".into(),
        }
    }
}

/// Finds the first difference between two normalised traces.
pub fn first_divergence(reference: &Trace, other: &Trace) -> Option<Divergence> {
    if reference.setup_error != other.setup_error {
        let show = |t: &Trace| {
            t.setup_error
                .clone()
                .unwrap_or_else(|| "instantiated".into())
        };
        return Some(Divergence {
            step: None,
            what: "setup".into(),
            reference: show(reference),
            other: show(other),
            nondeterministic: false,
        });
    }
    let n = reference.steps.len().max(other.steps.len());
    for i in 0..n {
        let (a, b) = (reference.steps.get(i), other.steps.get(i));
        let (Some(a), Some(b)) = (a, b) else {
            return Some(Divergence {
                step: Some(i),
                what: "length".into(),
                reference: format!("{} steps", reference.steps.len()),
                other: format!("{} steps", other.steps.len()),
                nondeterministic: false,
            });
        };
        let limit =
            |o: &Outcome| matches!(o, Outcome::Trap { kind, .. } if kind.is_nondeterministic());
        let nondeterministic = limit(&a.outcome) || limit(&b.outcome);
        let diverge = |what: &str, x: String, y: String| Divergence {
            step: Some(i),
            what: what.into(),
            reference: x,
            other: y,
            nondeterministic,
        };
        if a.outcome != b.outcome {
            return Some(diverge(
                "outcome",
                describe(&a.outcome),
                describe(&b.outcome),
            ));
        }
        if a.host_calls != b.host_calls {
            let show = |s: &crate::trace::StepTrace| {
                s.host_calls
                    .iter()
                    .map(|c| c.0.clone())
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            return Some(diverge("host_calls", show(a), show(b)));
        }
        if a.stdout != b.stdout {
            return Some(diverge("stdout", a.stdout.clone(), b.stdout.clone()));
        }
        if a.stderr != b.stderr {
            return Some(diverge("stderr", a.stderr.clone(), b.stderr.clone()));
        }
    }
    // The memory oracle: compared when both sides have something to compare (normalize.rs rule
    // 5 says when they do not); an engine that cannot give its memory when the other can is a
    // divergence too, with its reason.
    let comparable = |m: &Memory| matches!(m, Memory::Digest { .. } | Memory::Unavailable { .. });
    if comparable(&reference.memory)
        && comparable(&other.memory)
        && reference.memory != other.memory
    {
        return Some(Divergence {
            step: None,
            what: "memory after the last step".into(),
            reference: reference.memory.to_string(),
            other: other.memory.to_string(),
            nondeterministic: false,
        });
    }
    None
}

/// A behaviour that changed between two Go releases on the same engines: a fact about Go, not
/// about the runtimes.
#[derive(Debug, Clone, Serialize)]
pub struct GoDifference {
    pub guest: String,
    pub scenario: String,
    pub from: String,
    pub to: String,
    /// The engines on which the two releases' traces differ.
    pub engines: Vec<String>,
    pub divergence: Divergence,
}

/// Compares each engine's traces of the same case across consecutive Go releases (in the order
/// the reports come), with source positions masked (normalisation rule 4).
pub fn go_differences(reports: &[crate::matrix::CaseReport]) -> Vec<GoDifference> {
    use crate::normalize::mask_source_positions;
    let mut out: Vec<GoDifference> = Vec::new();
    for (i, a) in reports.iter().enumerate() {
        // The next report of the same case under another release.
        let Some(b) = reports[i + 1..]
            .iter()
            .find(|b| b.guest == a.guest && b.scenario == a.scenario && b.go != a.go)
        else {
            continue;
        };
        let mut engines = Vec::new();
        let mut first = None;
        for ra in &a.runs {
            let Some(rb) = b.runs.iter().find(|r| r.engine == ra.engine) else {
                continue;
            };
            // Two releases' binaries differ, so their memories always do: not a behaviour.
            let comparable = |t: &Trace| Trace {
                memory: Memory::NotTaken,
                ..mask_source_positions(t)
            };
            if let Some(d) =
                first_divergence(&comparable(&ra.normalized), &comparable(&rb.normalized))
            {
                engines.push(ra.engine.clone());
                first.get_or_insert(d);
            }
        }
        if let Some(divergence) = first {
            out.push(GoDifference {
                guest: a.guest.clone(),
                scenario: a.scenario.clone(),
                from: a.go.clone(),
                to: b.go.clone(),
                engines,
                divergence,
            });
        }
    }
    out
}

/// One entry of `expectations/<engine>.toml`: a divergence we know about and have explained.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownDivergence {
    pub guest: String,
    pub scenario: String,
    /// Why the engine behaves differently. Required: an unexplained entry is refused.
    pub reason: String,
    /// The upstream issue, where one exists.
    #[serde(default)]
    pub upstream: Option<String>,
    /// Whether the spec expectations still apply to this engine for this case.
    #[serde(default)]
    pub expectations_apply: bool,
    /// Filled in at load time from the file name.
    #[serde(skip_deserializing)]
    pub engine: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFile {
    #[serde(default)]
    divergence: Vec<KnownDivergence>,
}

/// Every known divergence, loaded from one directory of `<engine>.toml` files.
#[derive(Debug, Clone, Default)]
pub struct KnownDivergences {
    pub entries: Vec<KnownDivergence>,
}

impl KnownDivergences {
    pub fn load(dir: &Path) -> Result<Self> {
        let mut entries = Vec::new();
        let Ok(read) = std::fs::read_dir(dir) else {
            return Ok(Self::default());
        };
        let mut paths: Vec<_> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        {
            let engine = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file: KnownFile =
                toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
            for mut d in file.divergence {
                if d.reason.trim().is_empty() {
                    anyhow::bail!(
                        "{}: the entry for {}/{} has no reason",
                        path.display(),
                        d.guest,
                        d.scenario
                    );
                }
                d.engine = engine.clone();
                entries.push(d);
            }
        }
        Ok(KnownDivergences { entries })
    }

    pub fn find(&self, engine: &str, guest: &str, scenario: &str) -> Option<&KnownDivergence> {
        self.entries
            .iter()
            .find(|d| d.engine == engine && d.guest == guest && d.scenario == scenario)
    }
}

/// The judgement of one case across engines.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub verdict: Verdict,
    /// The engine the others were compared with.
    pub reference: Option<String>,
    /// Engines whose trace differs from the reference's, with where.
    pub divergences: Vec<(String, Divergence)>,
    /// Engines listed as known-divergent for this case that behaved like the reference: the
    /// list is out of date, which fails the run so that it stays true.
    pub stale_known: Vec<String>,
}

/// Judges one case from each engine's normalised trace, in registry order.
pub fn judge(
    traces: &[(String, Trace)],
    known: &KnownDivergences,
    guest: &str,
    scenario: &str,
) -> Judgement {
    let is_known = |e: &str| known.find(e, guest, scenario).is_some();
    let reference = traces.iter().find(|(e, _)| !is_known(e)).or(traces.first());
    let Some((ref_name, ref_trace)) = reference else {
        return Judgement {
            verdict: Verdict::Agree,
            reference: None,
            divergences: vec![],
            stale_known: vec![],
        };
    };
    let mut divergences = Vec::new();
    let mut stale_known = Vec::new();
    let (mut unknown, mut poisoned) = (false, false);
    for (engine, trace) in traces {
        if engine == ref_name {
            continue;
        }
        match first_divergence(ref_trace, trace) {
            Some(d) => {
                if d.nondeterministic {
                    poisoned = true;
                } else if !is_known(engine) {
                    unknown = true;
                }
                divergences.push((engine.clone(), d));
            }
            None if is_known(engine) => stale_known.push(engine.clone()),
            None => {}
        }
    }
    let verdict = if unknown {
        Verdict::Diverged
    } else if poisoned {
        Verdict::Poisoned
    } else if !divergences.is_empty() {
        Verdict::KnownDivergence
    } else {
        Verdict::Agree
    };
    Judgement {
        verdict,
        reference: Some(ref_name.clone()),
        divergences,
        stale_known,
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_memory_oracle_compares_digests_and_names_the_end() {
        let with = |m: Memory| Trace {
            setup_error: None,
            steps: vec![],
            memory: m,
        };
        let a = with(Memory::of(b"one"));
        assert_eq!(first_divergence(&a, &with(Memory::of(b"one"))), None);
        let d = first_divergence(&a, &with(Memory::of(b"two"))).expect("memories differ");
        assert_eq!(
            (d.what.as_str(), d.place().as_str()),
            ("memory after the last step", "the end")
        );
        let gone = with(Memory::Unavailable {
            reason: "closed".into(),
        });
        assert!(
            first_divergence(&a, &gone).is_some(),
            "a memory one engine cannot give is a divergence"
        );
        let skipped = with(Memory::NotCompared {
            reason: "timeout".into(),
        });
        assert_eq!(first_divergence(&a, &skipped), None);
    }
    use super::*;
    use crate::trace::{StepTrace, TrapKind, Value};

    fn trace(outcome: Outcome) -> Trace {
        Trace {
            memory: Default::default(),
            setup_error: None,
            steps: vec![StepTrace {
                step: "call F()".into(),
                outcome,
                host_calls: vec![],
                stdout: String::new(),
                stderr: String::new(),
            }],
        }
    }

    fn ret(v: i32) -> Trace {
        trace(Outcome::Returned {
            values: vec![Value::I32(v)],
        })
    }

    fn known(engine: &str) -> KnownDivergences {
        let mut d: KnownDivergence =
            toml::from_str("guest = \"g\"\nscenario = \"s\"\nreason = \"documented\"").unwrap();
        d.engine = engine.into();
        KnownDivergences { entries: vec![d] }
    }

    #[test]
    fn verdicts_cover_agreement_divergence_known_and_poison() {
        let none = KnownDivergences::default();
        let agree = judge(
            &[("a".into(), ret(1)), ("b".into(), ret(1))],
            &none,
            "g",
            "s",
        );
        assert_eq!(agree.verdict, Verdict::Agree);

        let diverged = judge(
            &[("a".into(), ret(1)), ("b".into(), ret(2))],
            &none,
            "g",
            "s",
        );
        assert_eq!(diverged.verdict, Verdict::Diverged);
        assert_eq!(diverged.divergences[0].1.step, Some(0));

        let listed = judge(
            &[("a".into(), ret(1)), ("b".into(), ret(2))],
            &known("b"),
            "g",
            "s",
        );
        assert_eq!(listed.verdict, Verdict::KnownDivergence);

        let timeout = trace(Outcome::Trap {
            kind: TrapKind::Timeout,
            message: String::new(),
        });
        let poisoned = judge(
            &[("a".into(), ret(1)), ("b".into(), timeout)],
            &none,
            "g",
            "s",
        );
        assert_eq!(poisoned.verdict, Verdict::Poisoned);
    }

    #[test]
    fn a_known_divergence_that_stopped_happening_is_reported_stale() {
        let j = judge(
            &[("a".into(), ret(1)), ("b".into(), ret(1))],
            &known("b"),
            "g",
            "s",
        );
        assert_eq!(j.stale_known, vec!["b".to_string()]);
    }

    #[test]
    fn the_reference_is_the_first_engine_without_a_known_divergence() {
        let j = judge(
            &[("a".into(), ret(2)), ("b".into(), ret(1))],
            &known("a"),
            "g",
            "s",
        );
        assert_eq!(j.reference.as_deref(), Some("b"));
        assert_eq!(j.verdict, Verdict::KnownDivergence);
    }

    #[test]
    fn entries_without_a_reason_are_refused() {
        let dir = std::env::temp_dir().join(format!("rh-known-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("x.toml"),
            "[[divergence]]\nguest = \"g\"\nscenario = \"s\"\nreason = \" \"\n",
        )
        .unwrap();
        let err = KnownDivergences::load(&dir).unwrap_err();
        assert!(format!("{err:#}").contains("has no reason"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
