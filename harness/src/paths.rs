//! Where the suite finds its inputs and keeps its caches.

use std::path::{Path, PathBuf};

/// The repository root (the workspace that holds harness/, go-guests/, snapshots/).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness/ has a parent")
        .to_path_buf()
}

pub fn default_guests_dir() -> PathBuf {
    repo_root().join("go-guests")
}

pub fn expectations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("expectations")
}

pub fn snapshots_dir() -> PathBuf {
    repo_root().join("snapshots")
}

/// Built guests and compiled modules live under cargo's target directory, never in git.
pub fn cache_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    target.join("reactor-harness")
}

/// Writes a file so that readers see either the old content or the new, never a torn write.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Unique per process and per call: two threads of one run may write the same file at once.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp{}-{n}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// A digest of `salt` and of every file under `dir` (recursively, names relative to `dir`, in a
/// stable order), skipping files named in `skip`: the cache key of anything built from sources.
pub fn digest_sources(dir: &Path, skip: &[&str], salt: &[&str]) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .file_name()
                .is_some_and(|n| !skip.iter().any(|s| n == *s))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut h = Sha256::new();
    for s in salt {
        h.update(s.as_bytes());
        h.update([0]);
    }
    for f in files {
        h.update(
            f.strip_prefix(dir)
                .unwrap_or(&f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update([0]);
        h.update(std::fs::read(&f)?);
        h.update([0]);
    }
    Ok(hex::encode(&h.finalize()[..12]))
}
