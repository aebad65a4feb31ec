//! The fuzz targets' logic under `cargo test`: each target on a bounded number of seeded inputs,
//! every committed corpus input replayed, the committed modules of corpus/module/ run through
//! the lifecycle (agreeing, or still diverging where a finding says they do), and the findings
//! writer, `module` and `replay` end to end. Every engine that is available takes part.

use reactor_harness::fuzz::{self, findings, CaseVerdict, Oracle};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

fn oracle() -> &'static Oracle {
    static O: OnceLock<Oracle> = OnceLock::new();
    O.get_or_init(|| Oracle::from_env().expect("fuzzing needs at least two available engines"))
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

/// Checks a case and fails with the whole story when it is a finding.
fn assert_no_finding(case: &fuzz::Case) -> CaseVerdict {
    let checked = oracle().check(case).expect("the case runs");
    if let CaseVerdict::Finding(_) = checked.verdict {
        panic!("{}", fuzz::describe(case, &checked));
    }
    checked.verdict
}

/// Runs `n` seeded inputs of a target's case builder; returns how many made a case.
fn seeded(
    n: usize,
    seed: u64,
    make: impl Fn(&mut arbitrary::Unstructured) -> arbitrary::Result<fuzz::Case>,
) -> Vec<fuzz::Case> {
    let mut cases = Vec::new();
    fuzz::seeded(n, seed, 2048, |u| {
        if let Ok(case) = make(u) {
            assert_no_finding(&case);
            cases.push(case);
        }
    });
    cases
}

#[test]
fn smith_seeded_modules_agree_on_every_engine() {
    let cases = seeded(40, 1, |u| fuzz::smith::case(oracle(), u));
    assert!(
        cases.len() >= 30,
        "only {} of 40 inputs made a module",
        cases.len()
    );
    let calls: usize = cases.iter().map(|c| c.plan.steps.len()).sum();
    assert!(
        calls >= 2 * cases.len(),
        "the plans are too short to exercise anything: {calls} steps"
    );
    // A module that no engine can load "agrees" and tests nothing: the generator's features
    // must stay within what the engines implement.
    let mut ran = 0;
    let mut host_calls = 0;
    for case in &cases {
        let checked = oracle().check(case).unwrap();
        let (_, reference) = &checked.traces[0];
        if reference.setup_error.is_none() && reference.steps.len() >= 2 {
            ran += 1;
        }
        host_calls += reference
            .steps
            .iter()
            .map(|s| s.host_calls.len())
            .sum::<usize>();
    }
    assert!(
        ran * 10 >= cases.len() * 9,
        "only {ran} of {} generated modules ran",
        cases.len()
    );
    assert!(host_calls > 0, "no generated module called a host import");
}

#[test]
fn calls_seeded_sequences_agree_on_every_engine() {
    let cases = seeded(25, 2, |u| fuzz::calls::case(oracle(), u));
    assert_eq!(cases.len(), 25);
}

#[test]
fn marshal_seeded_cases_match_the_model_on_every_engine() {
    let cases = seeded(25, 3, |u| fuzz::marshal::case(oracle(), u));
    assert_eq!(cases.len(), 25);
    let expectations: usize = cases
        .iter()
        .map(|c| c.plan.scenario("m").unwrap().expectation_count())
        .sum();
    assert!(
        expectations >= 25,
        "the model predicted only {expectations} things"
    );
}

#[test]
fn every_corpus_input_replays_without_a_finding() {
    let mut n = 0;
    for (name, _) in fuzz::TARGETS.iter() {
        let dir = corpus().join(name);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let mut u = arbitrary::Unstructured::new(&data);
            let make = fuzz::target(name).unwrap();
            let case = make(oracle(), &mut u);
            let case = case.unwrap_or_else(|e| panic!("{} makes no case: {e}", path.display()));
            assert_no_finding(&case);
            n += 1;
        }
    }
    assert!(n >= 6, "the corpus has {n} inputs; its seeds are missing");
}

/// Modules of corpus/module/ whose finding is real and still reproduces; every other one must
/// agree on every engine. A listed module that starts agreeing fails, so the list stays true.
const STILL_DIVERGES: &[(&str, &str)] = &[
    (
        "proc-exit-138",
        "wasmtime-wasi and wasi-common fail proc_exit(138); wazero and Node exit 138 (README, Findings)",
    ),
    (
        "empty-elem-out-of-bounds",
        "wazero instantiates a module whose empty element segment is out of bounds (README, Findings)",
    ),
];

#[test]
fn corpus_modules_agree_or_still_diverge_as_recorded() {
    let mut seen = 0;
    for entry in std::fs::read_dir(corpus().join("module")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wat") {
            continue;
        }
        seen += 1;
        let wasm = wat::parse_file(&path).unwrap();
        let plan = fuzz::module::lifecycle(&wasm, &Default::default()).unwrap();
        let case = fuzz::Case {
            target: "module".into(),
            wasm: Arc::new(wasm),
            origin: path.display().to_string(),
            plan,
            transient: true,
        };
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let checked = oracle().check(&case).unwrap();
        match STILL_DIVERGES.iter().find(|(n, _)| *n == stem) {
            Some((_, why)) => assert!(
                matches!(checked.verdict, CaseVerdict::Finding(_)),
                "{stem} is recorded as diverging ({why}) but now agrees: update the README's Findings\n{}",
                fuzz::describe(&case, &checked)
            ),
            None => assert_eq!(
                checked.verdict,
                CaseVerdict::Agree,
                "{}",
                fuzz::describe(&case, &checked)
            ),
        }
    }
    assert!(seen >= 2);
}

#[test]
fn a_finding_is_written_whole_once_and_replays() {
    let root = std::env::temp_dir().join(format!("rh-findings-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let path = corpus().join("module/proc-exit-138.wat");
    let wasm = wat::parse_file(&path).unwrap();
    let case = fuzz::Case {
        target: "module".into(),
        plan: fuzz::module::lifecycle(&wasm, &Default::default()).unwrap(),
        wasm: Arc::new(wasm),
        origin: path.display().to_string(),
        transient: true,
    };
    let checked = oracle().check(&case).unwrap();
    let dir = findings::write(&root, &case, &checked).unwrap();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("reactor-harness") || readme.contains("replay"),
        "{readme}"
    );
    for f in [
        "module.wasm",
        "module.wat",
        "plan.toml",
        "origin.txt",
        "traces/wasmtime.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing in {}", dir.display());
    }
    // The same finding again is the same folder, left as it was.
    std::fs::write(dir.join("note"), "kept").unwrap();
    assert_eq!(findings::write(&root, &case, &checked).unwrap(), dir);
    assert!(
        dir.join("note").is_file(),
        "an existing finding was overwritten"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.join("module"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
    // The same bug with another exit code has the same signature, and is recognised as known.
    let other_code = wat::parse_str(
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("i32.const 138", "i32.const 200"),
    )
    .unwrap();
    let again = fuzz::Case {
        wasm: Arc::new(other_code),
        ..case.clone()
    };
    let sig = findings::signature(&checked).expect("a finding has a signature");
    let sig_again = findings::signature(&oracle().check(&again).unwrap()).unwrap();
    assert_eq!(sig, sig_again);
    assert_eq!(
        findings::same_as(&root, "module", &sig).as_deref(),
        Some(dir.as_path())
    );
    // Read back: the same module and plan.
    let back = findings::read(&dir).unwrap();
    assert_eq!(back.wasm, case.wasm);
    assert_eq!(back.plan, case.plan);
    // `replay` reproduces it (exit 1: the engines still disagree); `module` agrees on a module
    // where they do (exit 0).
    let exe = env!("CARGO_BIN_EXE_reactor-harness");
    let replay = Command::new(exe).arg("replay").arg(&dir).output().unwrap();
    let text = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(replay.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FINDING") && text.contains("exit 138"),
        "{text}"
    );
    // `shrink` keeps the divergence and writes a new, smaller finding beside the original.
    let shrunk = Command::new(exe)
        .args(["shrink", "--attempts", "20"])
        .arg(&dir)
        .env("REACTOR_HARNESS_FINDINGS", &root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&shrunk.stdout);
    assert_eq!(
        shrunk.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&shrunk.stderr)
    );
    let min = text
        .lines()
        .find_map(|l| l.strip_prefix("minimised finding: "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no minimised finding in: {text}"));
    let small = findings::read(&min).unwrap();
    assert!(small.wasm.len() <= case.wasm.len() && small.plan.steps.len() <= case.plan.steps.len());
    assert!(
        small.plan.steps.len() < case.plan.steps.len(),
        "`_initialize` is not needed: {text}"
    );
    assert!(dir.join("note").is_file(), "shrinking touched the original");
    let ok = Command::new(exe)
        .arg("module")
        .arg(corpus().join("module/pinned-wasi.wat"))
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = Command::new(exe)
        .args(["module", "--args", "nope=i32:1"])
        .arg(corpus().join("module/pinned-wasi.wat"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nope"));
    let _ = std::fs::remove_dir_all(&root);
}
