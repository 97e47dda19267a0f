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
    /// Starts per goal, run as one batch, or in waves of what --max-memory
    /// holds.
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

/// `KEY=VALUE` pairs as a method block (values read as JSON, else strings);
/// a later pair for the same key wins. Each pair is checked alone first, so
/// that an error names the pair: `--set lr=abc: expected a number`.
pub fn parse_sets(sets: &[String]) -> anyhow::Result<MethodBlock> {
    let mut map = serde_json::Map::new();
    for s in sets {
        let (key, value) = s.split_once('=').ok_or_else(|| anyhow::anyhow!("--set {s}: expected KEY=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        let pair = serde_json::Map::from_iter([(key.trim().to_string(), value)]);
        if let Err(e) = serde_json::from_value::<MethodBlock>(serde_json::Value::Object(pair.clone())) {
            anyhow::bail!("--set {s}: {}", plain_reason(&e));
        }
        map.extend(pair);
    }
    serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| anyhow::anyhow!("--set: {}", plain_reason(&e)))
}

/// serde's reason in a flag user's words: serde names the Rust type a
/// field has (`expected f64`), the user typed a value on a command line.
fn plain_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let wanted = [
        ("expected f64", "expected a number"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected a boolean", "expected true or false"),
    ];
    match wanted.iter().find(|(serde_words, _)| message.ends_with(serde_words)) {
        Some((_, words)) => words.to_string(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(pairs: &[&str]) -> anyhow::Result<MethodBlock> {
        parse_sets(&pairs.iter().map(ToString::to_string).collect::<Vec<_>>())
    }

    fn error(pairs: &[&str]) -> String {
        format!("{:#}", sets(pairs).unwrap_err())
    }

    #[test]
    fn values_are_read_as_json_else_strings() {
        let m = sets(&["lr=0.5", "iterations=7", "normalisers=exact", "stop_when_achieved=false"]).unwrap();
        assert_eq!(m.lr, Some(0.5));
        assert_eq!(m.iterations, Some(7));
        assert!(m.normalisers.is_some());
        assert_eq!(m.stop_when_achieved, Some(false));
        assert_eq!(sets(&["lr=0.5", "lr=0.25"]).unwrap().lr, Some(0.25), "the later pair wins");
    }

    #[test]
    fn an_error_names_the_pair() {
        assert_eq!(error(&["iterations=3", "lr=abc"]), "--set lr=abc: expected a number");
        assert_eq!(error(&["lr="]), "--set lr=: expected a number");
        assert_eq!(error(&["iterations=-1"]), "--set iterations=-1: expected a whole number, 0 or more");
        assert_eq!(error(&["iterations=1.5"]), "--set iterations=1.5: expected a whole number, 0 or more");
        assert_eq!(error(&["random_start=yes"]), "--set random_start=yes: expected true or false");
        assert_eq!(error(&["lr"]), "--set lr: expected KEY=VALUE");
        let unknown = error(&["learning_rate=0.1"]);
        assert!(unknown.starts_with("--set learning_rate=0.1: unknown field `learning_rate`"), "{unknown}");
        let variant = error(&["normalisers=fast"]);
        assert!(variant.starts_with("--set normalisers=fast: unknown variant `fast`"), "{variant}");
    }
}
