//! The method flags shared by the commands that optimise: `--method`,
//! `--iterations`, `--restarts`, `--seed` and `--set KEY=VALUE` for any
//! field of the goal's method block.

use adr_onnx::goal::schema::{Algorithm, MethodBlock};

#[derive(clap::Args, Debug, Clone)]
pub struct MethodArgs {
    /// The optimiser (default: the goal's `method.algorithm`, else the command's).
    #[arg(long, value_enum)]
    method: Option<Algorithm>,
    /// ADR or GD iterations.
    #[arg(long)]
    iterations: Option<usize>,
    /// Starts per goal, run as one batch.
    #[arg(long)]
    restarts: Option<usize>,
    /// Seed of every random choice.
    #[arg(long)]
    seed: Option<u64>,
    /// Sets a field of the goal's method block, e.g. `--set lr=0.5`,
    /// `--set normalisers=random` (repeatable; wins over the goal file).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

impl MethodArgs {
    /// The overrides as one method block: the dedicated flags win over `--set`.
    pub fn block(&self) -> anyhow::Result<MethodBlock> {
        let given = parse_sets(&self.set)?;
        Ok(MethodBlock {
            algorithm: self.method.or(given.algorithm),
            iterations: self.iterations.or(given.iterations),
            restarts: self.restarts.or(given.restarts),
            seed: self.seed.or(given.seed),
            ..given
        })
    }
}

/// `KEY=VALUE` pairs as a method block (values read as JSON, else strings).
pub fn parse_sets(sets: &[String]) -> anyhow::Result<MethodBlock> {
    let mut map = serde_json::Map::new();
    for s in sets {
        let (key, value) = s.split_once('=').ok_or_else(|| anyhow::anyhow!("--set {s}: expected KEY=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        map.insert(key.trim().to_string(), value);
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| anyhow::anyhow!("--set: {e}"))
}
