//! Node.js (V8) with node:wasi, through the host program in harness/hosts/node.

use super::process::{Launcher, ProcessEngine};
use std::process::Command;

/// node:wasi with `version: 'preview1'` and `wasi.initialize()` for reactors arrived in Node 20.
const MIN_NODE: u32 = 20;

pub fn node() -> ProcessEngine {
    ProcessEngine::new(
        "node",
        "Node.js V8 (Liftoff + TurboFan), node:wasi preview1",
        Box::new(Node),
    )
}

struct Node;

fn node_binary() -> String {
    std::env::var("REACTOR_HARNESS_NODE").unwrap_or_else(|_| "node".into())
}

impl Launcher for Node {
    fn command(&self) -> Result<Command, String> {
        let node = node_binary();
        let out = Command::new(&node).arg("--version").output().map_err(|e| {
            format!("cannot run `{node}` ({e}); install Node.js {MIN_NODE} or newer")
        })?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let major: Option<u32> = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse().ok());
        match major {
            Some(m) if m >= MIN_NODE => {}
            _ => {
                return Err(format!(
                    "`{node}` is {version:?}; the node engine needs Node.js {MIN_NODE} or newer"
                ))
            }
        }
        let script = crate::paths::repo_root().join("harness/hosts/node/host.mjs");
        if !script.is_file() {
            return Err(format!("the Node host {} is missing", script.display()));
        }
        let mut c = Command::new(node);
        c.arg("--no-warnings")
            .arg(script)
            .args(["--engine", "node"]);
        Ok(c)
    }
}
