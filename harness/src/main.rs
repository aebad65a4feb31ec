//! The `reactor-harness` command line: run the differential matrix, list engines, build guests.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use reactor_harness::diff::KnownDivergences;
use reactor_harness::engine::{self, Engine};
use reactor_harness::guests::{self, BuiltGuest, SetupError};
use reactor_harness::matrix::{self, CaseReport};
use reactor_harness::pinned::Budget;
use reactor_harness::report::{self, EngineStatus, Summary};
use reactor_harness::{fuzz, normalize, paths, runner};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Parser)]
#[command(
    name = "reactor-harness",
    version,
    about = "Differential conformance testing of Go WebAssembly reactors across runtimes"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct GuestArgs {
    /// The directory that holds one folder per guest.
    #[arg(long, default_value_os_t = paths::default_guests_dir())]
    guests_dir: PathBuf,
    /// Only these guests (repeatable).
    #[arg(long = "guest")]
    guests: Vec<String>,
    /// Go releases to build the guests with: `all`, `default`, or release names (go1.25.14),
    /// comma-separated or repeated. Default: the default release of harness/go-releases.toml.
    #[arg(long = "go")]
    go: Vec<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every guest x scenario on every engine and compare.
    Run {
        /// Only these engines (repeatable); default: every engine of this build.
        #[arg(long = "engine")]
        engines: Vec<String>,
        #[command(flatten)]
        guests: GuestArgs,
        /// Only these scenarios (repeatable).
        #[arg(long = "scenario")]
        scenarios: Vec<String>,
        /// Also write the report as JSON to this path.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Fail with exit 2 unless every one of these engines is available (comma-separated).
        #[arg(long, value_delimiter = ',')]
        require_engines: Vec<String>,
        /// The wall-clock budget of one step, for engines bounded by time, in milliseconds.
        #[arg(long, default_value_t = Budget::default().wall.as_millis() as u64)]
        step_timeout_ms: u64,
        /// The fuel budget of one step, for engines bounded by fuel.
        #[arg(long, default_value_t = Budget::default().fuel)]
        step_fuel: u64,
    },
    /// List every engine with its version and availability.
    Engines,
    /// Run any reactor-shaped module's lifecycle on every engine and diff the traces:
    /// `_initialize` if exported, then each other exported function once, with zero arguments
    /// unless `--args` gives them. Exit 0 when the engines agree, 1 when they do not.
    Module {
        /// A .wasm or .wat file.
        file: PathBuf,
        /// Arguments for one export, `NAME=VALUE,VALUE` with canonical values (`i32:-1`,
        /// `f64:bits:0x7ff4000000000001`); repeatable.
        #[arg(long = "args")]
        args: Vec<String>,
        /// Only these engines (repeatable); default: every available engine.
        #[arg(long = "engine")]
        engines: Vec<String>,
    },
    /// Reproduce a fuzz finding (a folder with module.wasm or module.wat, and plan.toml).
    Replay {
        path: PathBuf,
        /// Only these engines (repeatable); default: every available engine.
        #[arg(long = "engine")]
        engines: Vec<String>,
    },
    /// Minimise a finding: drop plan steps and shrink the module (wasm-shrink) while the same
    /// divergence still happens; the result is written as a new finding beside the original.
    Shrink {
        path: PathBuf,
        /// wasm-shrink's attempts.
        #[arg(long, default_value_t = 300)]
        attempts: u32,
    },
    /// Run a fuzz target in process from a seeded generator (no libFuzzer, no coverage
    /// guidance): the same library function as `cargo fuzz run TARGET`, for a smoke campaign on
    /// stable Rust. Findings go to findings/<target>/. Engines: REACTOR_HARNESS_FUZZ_ENGINES.
    Fuzz {
        /// calls, marshal or smith.
        target: String,
        /// How many inputs.
        #[arg(long, default_value_t = 100)]
        iterations: usize,
        /// Stop after this many seconds even if iterations remain.
        #[arg(long)]
        seconds: Option<u64>,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Build (or report from the cache) every guest module.
    BuildGuests {
        #[command(flatten)]
        guests: GuestArgs,
    },
    /// Time each engine's stages (cold compile, instantiate, _initialize, one call) on a guest.
    Bench {
        #[command(flatten)]
        guests: GuestArgs,
        /// The export to call (it must take the given arguments and return).
        #[arg(long, default_value = "EchoI32")]
        export: String,
        #[arg(long = "arg", default_values_t = vec!["i32:7".to_string()])]
        args: Vec<String>,
        #[arg(long, default_value_t = 5)]
        iterations: usize,
        /// Only these engines (repeatable).
        #[arg(long = "engine")]
        engines: Vec<String>,
    },
    /// Print one engine's full trace of one scenario as JSON (raw, then normalised).
    Trace {
        #[command(flatten)]
        guests: GuestArgs,
        #[arg(long)]
        scenario: String,
        #[arg(long, default_value = "wasmtime")]
        engine: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("reactor-harness: error: {e:#}");
            // Usage and setup errors (a missing Go, a guest that does not compile, a bad
            // scenario file) are 2; findings are 1 and are reported, not raised.
            ExitCode::from(2)
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Engines => {
            for s in engine::registry().iter().map(EngineStatus::probe) {
                let state = match &s.reason {
                    None => "available".to_string(),
                    Some(r) => format!("UNAVAILABLE: {r}"),
                };
                println!(
                    "{:16} {:10} {:58} {state}",
                    s.name, s.version, s.implementation
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::BuildGuests { guests } => {
            let built = build(&guests)?;
            for b in &built {
                println!(
                    "{:14} {} {:>9} bytes  {} scenarios  {}",
                    b.guest.name,
                    b.go,
                    b.wasm.len(),
                    b.guest.scenarios.len(),
                    b.path.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            mut guests,
            export,
            args,
            iterations,
            engines,
        } => {
            if guests.guests.is_empty() {
                guests.guests.push("marshal".into());
            }
            let built = build(&guests)?;
            let args: Vec<reactor_harness::trace::Value> = args
                .iter()
                .map(|a| reactor_harness::trace::Value::parse(a).map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?;
            // SAFETY of set_var: single-threaded here, before any engine thread starts.
            unsafe { std::env::set_var(reactor_harness::bench::NO_COMPILE_CACHE, "1") };
            let names: Vec<String> = engine::select(&engine::registry(), &engines)?
                .iter()
                .map(|e| e.name().to_string())
                .collect();
            println!(
                "{} ({} bytes, {}), median of {iterations}",
                built[0].guest.name,
                built[0].wasm.len(),
                built[0].go
            );
            println!(
                "{:16} {:>12} {:>12} {:>12} {:>12} {:>12}",
                "engine", "start-up", "compile", "instantiate", "_initialize", "call"
            );
            for name in names {
                let fresh = || {
                    engine::select(&engine::registry(), std::slice::from_ref(&name))
                        .expect("known")
                        .remove(0)
                };
                let t = reactor_harness::bench::measure(
                    fresh,
                    &built[0].wasm,
                    &export,
                    &args,
                    iterations,
                )?;
                println!(
                    "{:16} {:>12.1?} {:>12.1?} {:>12.1?} {:>12.1?} {:>12.1?}",
                    t.engine, t.startup, t.compile, t.instantiate, t.initialize, t.call
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Module {
            file,
            args,
            engines,
        } => {
            let wasm = if file.extension().is_some_and(|e| e == "wat") {
                wat::parse_file(&file).with_context(|| format!("parsing {}", file.display()))?
            } else {
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
            };
            let mut given = std::collections::BTreeMap::new();
            for a in &args {
                let (name, values) = a
                    .split_once('=')
                    .with_context(|| format!("--args `{a}` is not NAME=VALUE,VALUE"))?;
                let values = values
                    .split(',')
                    .filter(|v| !v.is_empty())
                    .map(str::to_string);
                given.insert(name.to_string(), values.collect());
            }
            let plan = fuzz::module::lifecycle(&wasm, &given)
                .with_context(|| format!("{}", file.display()))?;
            let case = fuzz::Case {
                target: "module".into(),
                wasm: Arc::new(wasm),
                origin: file.display().to_string(),
                plan,
                transient: true,
            };
            check_case(&case, &engines)
        }
        Command::Replay { path, engines } => {
            let case = fuzz::findings::read(&path)?;
            check_case(&case, &engines)
        }
        Command::Shrink { path, attempts } => {
            let case = fuzz::findings::read(&path)?;
            let oracle = fuzz::Oracle::from_env()?;
            let (out, sizes) =
                fuzz::shrink::shrink(&oracle, &case, attempts, &fuzz::findings::dir())?;
            println!(
                "{sizes}
minimised finding: {}
reproduce: cargo run --release -- replay {}",
                out.display(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Fuzz {
            target,
            iterations,
            seconds,
            seed,
        } => fuzz_in_process(&target, iterations, seconds, seed),
        Command::Trace {
            guests,
            scenario,
            engine,
        } => {
            let built = build(&guests)?;
            let all = engine::registry();
            let engine = engine::select(&all, &[engine])?.remove(0);
            let (guest, scen) = built
                .iter()
                .find_map(|b| {
                    b.guest
                        .scenarios
                        .iter()
                        .find(|s| s.name == scenario)
                        .map(|s| (b, s))
                })
                .with_context(|| format!("no scenario `{scenario}` in the selected guests"))?;
            let module = engine.load(&guest.wasm)?;
            let trace = runner::run_scenario(module.as_ref(), scen, Budget::default());
            println!("{}", serde_json::to_string_pretty(&trace)?);
            println!(
                "{}",
                serde_json::to_string_pretty(&normalize::normalize(&trace, scen))?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            engines,
            guests,
            scenarios,
            json,
            require_engines,
            step_timeout_ms,
            step_fuel,
        } => {
            let budget = Budget {
                wall: std::time::Duration::from_millis(step_timeout_ms),
                fuel: step_fuel,
                ..Budget::default()
            };
            run(engines, guests, scenarios, json, require_engines, budget)
        }
    }
}

/// Runs one case on the selected (or every available) engine and prints what happened.
fn check_case(case: &fuzz::Case, names: &[String]) -> Result<ExitCode> {
    let oracle = if names.is_empty() {
        fuzz::Oracle::from_env()?
    } else {
        let all = engine::registry();
        fuzz::Oracle::with(engine::select(&all, names)?)?
    };
    let checked = oracle.check(case)?;
    print!("{}", fuzz::describe(case, &checked));
    Ok(match checked.verdict {
        fuzz::CaseVerdict::Finding(_) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

/// A seeded, uninstrumented campaign of one target; prints inputs per second at the end.
fn fuzz_in_process(
    target: &str,
    iterations: usize,
    seconds: Option<u64>,
    seed: u64,
) -> Result<ExitCode> {
    let oracle = fuzz::Oracle::from_env()?;
    let run = fuzz::target(target)?;
    let start = std::time::Instant::now();
    let before = fuzz::findings_count();
    let mut done = 0;
    let mut rng = reactor_harness::pinned::PinnedRandom::new();
    for _ in 0..seed {
        rng.next_u64();
    }
    while done < iterations && seconds.is_none_or(|s| start.elapsed().as_secs() < s) {
        let mut data = vec![0u8; 4096];
        rng.fill(&mut data);
        let _ = fuzz::run_target(run, &oracle, &mut arbitrary::Unstructured::new(&data));
        done += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let found = fuzz::findings_count() - before;
    println!(
        "{target}: {done} inputs in {secs:.1} s ({:.2} inputs/s) on {} engines; {found} new findings in {}",
        done as f64 / secs,
        oracle.engines.len(),
        fuzz::findings::dir().join(target).display()
    );
    Ok(if found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn build(args: &GuestArgs) -> Result<Vec<BuiltGuest>> {
    let mut found = guests::discover(&args.guests_dir)?;
    for g in &args.guests {
        if g != reactor_harness::compile_checks::DIR && !found.iter().any(|f| &f.name == g) {
            let names: Vec<&str> = found.iter().map(|f| f.name.as_str()).collect();
            return Err(SetupError(format!(
                "no guest `{g}` in {}; there are: {}",
                args.guests_dir.display(),
                names.join(", ")
            ))
            .into());
        }
    }
    if !args.guests.is_empty() {
        found.retain(|f| args.guests.contains(&f.name));
    }
    let mut built = Vec::new();
    for release in reactor_harness::toolchains::select(&args.go)? {
        let toolchain = reactor_harness::toolchains::toolchain(&release)?;
        built.extend(guests::build_all(&found, &toolchain)?);
    }
    Ok(built)
}

fn run(
    engine_names: Vec<String>,
    guest_args: GuestArgs,
    scenarios: Vec<String>,
    json: Option<PathBuf>,
    require: Vec<String>,
    budget: Budget,
) -> Result<ExitCode> {
    let all = engine::registry();
    let selected = engine::select(&all, &engine_names)?;
    engine::select(&all, &require)?;
    let statuses: Vec<EngineStatus> = selected.iter().map(EngineStatus::probe).collect();
    let missing: Vec<String> = statuses
        .iter()
        .filter(|s| !s.available && require.contains(&s.name))
        .map(|s| {
            format!(
                "{}: {}",
                s.name,
                s.reason.as_deref().unwrap_or("unavailable")
            )
        })
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "required engines are unavailable:\n  {}",
            missing.join("\n  ")
        );
    }
    let runnable: Vec<Arc<dyn Engine>> = selected
        .iter()
        .zip(&statuses)
        .filter(|(_, s)| s.available)
        .map(|(e, _)| e.clone())
        .collect();
    if runnable.is_empty() {
        anyhow::bail!("no selected engine is available");
    }

    let built = build(&guest_args)?;
    let known = KnownDivergences::load(&paths::expectations_dir())?;
    let mut cases: Vec<(&BuiltGuest, &reactor_harness::scenario::Scenario)> = Vec::new();
    for b in &built {
        for s in &b.guest.scenarios {
            if scenarios.is_empty() || scenarios.contains(&s.name) {
                cases.push((b, s));
            }
        }
    }
    let only_checks = guest_args
        .guests
        .iter()
        .all(|g| g == reactor_harness::compile_checks::DIR)
        && !guest_args.guests.is_empty();
    if cases.is_empty() && !only_checks {
        anyhow::bail!("no scenario matches the selection");
    }
    let reports = if cases.is_empty() {
        Vec::new()
    } else {
        run_parallel(&runnable, &cases, &known, budget)
    };
    // The rejected-type suite runs with the whole matrix, or when asked for by name.
    let checks = if (guest_args.guests.is_empty() && scenarios.is_empty())
        || guest_args
            .guests
            .iter()
            .any(|g| g == reactor_harness::compile_checks::DIR)
    {
        let cases = reactor_harness::compile_checks::discover(&guest_args.guests_dir)?;
        let toolchains = reactor_harness::toolchains::select(&guest_args.go)?
            .iter()
            .map(|r| reactor_harness::toolchains::toolchain(r))
            .collect::<Result<Vec<_>, _>>()?;
        reactor_harness::compile_checks::run_all(&cases, &toolchains)?
    } else {
        Vec::new()
    };

    let go: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for b in &built {
            if !v.contains(&b.go) {
                v.push(b.go.clone());
            }
        }
        v
    };
    let go_differences = reactor_harness::diff::go_differences(&reports);
    print!(
        "{}",
        report::text::render(&statuses, &reports, &go_differences, &checks)
    );
    if let Some(path) = json {
        report::json::write(
            &path,
            &report::json::render(&statuses, &go, &reports, &go_differences, &checks),
        )?;
        println!("JSON report: {}", path.display());
    }
    let summary = Summary::of(&reports, &statuses, &checks);
    Ok(if summary.has_findings() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the cases on a small pool of threads (one per core); each case runs its engines in turn.
fn run_parallel(
    engines: &[Arc<dyn Engine>],
    cases: &[(&BuiltGuest, &reactor_harness::scenario::Scenario)],
    known: &KnownDivergences,
    budget: Budget,
) -> Vec<CaseReport> {
    let next = Mutex::new(0usize);
    let done: Mutex<Vec<(usize, CaseReport)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(cases.len());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some((guest, scenario)) = cases.get(i) else {
                    break;
                };
                let report = matrix::run_case(engines, guest, scenario, known, budget);
                done.lock().unwrap().push((i, report));
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}
