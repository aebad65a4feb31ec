//! Replays every committed fuzz input under corpus/<target>/ through the same library function
//! the fuzz target calls, so seeds and minimized regressions keep passing between campaigns.

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if let Err(p) = std::panic::catch_unwind(|| check(&data)) {
            panic!("{} fails: {:?}", path.display(), p.downcast_ref::<String>());
        }
        n += 1;
    }
    n
}

#[test]
fn scenario_file_corpus_replays() {
    let n = replay(
        "scenario_file",
        reactor_harness::scenario::check_scenario_file,
    );
    assert!(n >= 3, "the corpus has {n} inputs; its seeds are missing");
}

#[test]
fn every_guest_scenario_file_satisfies_the_fuzz_property() {
    // The real scenario files are the best seeds there are; they must pass the same property.
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../go-guests");
    for entry in std::fs::read_dir(guests).unwrap() {
        let file = entry.unwrap().path().join("scenarios.toml");
        if file.is_file() {
            let text = std::fs::read(&file).unwrap();
            assert!(
                reactor_harness::scenario::parse(std::str::from_utf8(&text).unwrap()).is_ok(),
                "{}",
                file.display()
            );
            reactor_harness::scenario::check_scenario_file(&text);
        }
    }
}
