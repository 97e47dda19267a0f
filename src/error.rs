//! The library's error type: every failure a user can cause, with the file,
//! node, op or JSON pointer it concerns, displayed on one line.

use std::fmt;
use std::path::PathBuf;

/// One node the importer could not turn into the IR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProblem {
    /// The node's name (or its first output's name when the node is unnamed).
    pub node: String,
    /// The ONNX op type, e.g. `Conv`.
    pub op_type: String,
    /// What is wrong, e.g. `op not supported` or `attribute 'pads': ...`.
    pub message: String,
}

impl fmt::Display for NodeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node '{}' ({}): {}", clip(&self.node), clip(&self.op_type), printable(&self.message))
    }
}

/// Everything that can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The I/O error is part of the message (not a separate source), so
    /// that error chains print it once.
    #[error("{}: {error}", shown(.path))]
    Io { path: PathBuf, error: std::io::Error },

    #[error("{path}: not a readable ONNX model: {}", printable(.reason))]
    NotOnnx { path: PathBuf, reason: String },

    #[error("{path}: unsupported model: {}", join_problems(.problems))]
    Unsupported { path: PathBuf, problems: Vec<NodeProblem> },

    #[error("{path}: {}", printable(.message))]
    Model { path: PathBuf, message: String },

    #[error("{path}: invalid ONNX model: {}", join_problems(.problems))]
    InvalidModel { path: PathBuf, problems: Vec<NodeProblem> },

    #[error("{path}: graph has no ReLU (ops: {}); activation descent needs at least one ReLU site", clip(.ops))]
    NoRelu { path: PathBuf, ops: String },

    #[error("{path}: tensor '{}' refers to external data '{}' outside the model's folder; refusing to read it", clip(.tensor), clip(.location))]
    ExternalDataOutside { path: PathBuf, tensor: String, location: String },

    /// A tensor whose extent or element count overflows, or holds more than
    /// `ir::shape::MAX_SAMPLE_VALUES` values per sample; `tensor` names the
    /// model input or the node (`node 'pad' (Pad)`).
    #[error("{path}: {tensor}: {message}")]
    TensorTooLarge { path: PathBuf, tensor: String, message: String },

    /// An `.npy` file whose header claims more values than its data holds.
    #[error("{path}: truncated or not an .npy file: its header claims shape {shape:?}, which needs {need} bytes of data; the file holds {have}")]
    NpyTooShort { path: PathBuf, shape: Vec<usize>, need: String, have: u64 },

    /// A command whose estimated memory exceeds `--max-memory`
    /// (`crate::memory`): the estimate, the limit and its origin, and the
    /// setting to lower, as one sentence.
    #[error("{0}")]
    MemoryLimit(String),

    #[error("lowering {graph}: node '{node}' ({op}): {message}")]
    Lowering { graph: String, node: String, op: String, message: String },

    #[error("runtime {backend} on graph '{graph}': {message}")]
    Runtime { backend: String, graph: String, message: String },

    #[error("{file}: at {}: {}", clip(.pointer), printable(.message))]
    Goal { file: PathBuf, pointer: String, message: String },

    #[error("{}: {}", shown(.path), printable(.message))]
    Data { path: PathBuf, message: String },

    /// An input or output path that is not a regular file (`problem`: "is
    /// a directory", "is a FIFO, not a regular file", ...).
    #[error("{}: {problem}", shown(.path))]
    NotRegularFile { path: PathBuf, problem: &'static str },

    #[error("{path}: larger than {cap_mib} MiB, the most adr-onnx reads from {what}")]
    TooLarge { path: PathBuf, what: &'static str, cap_mib: u64 },

    #[error("{output}: refusing to overwrite {input}, an input of this command (the same file)")]
    OutputIsInput { output: PathBuf, input: PathBuf },

    #[error("{first} and {second} are the same output file")]
    OutputTwice { first: PathBuf, second: PathBuf },

    #[error("{}", printable(.0))]
    Invalid(String),
}

fn join_problems(problems: &[NodeProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }

    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Data { path: path.into(), message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The most characters of a user's value that an error message echoes.
pub const ECHO_CHARS: usize = 200;

/// The most characters of one error line, a backstop for messages that
/// echo values (third-party parsers included).
pub const LINE_CHARS: usize = 2000;

/// A user's value as an error message echoes it: its first [`ECHO_CHARS`]
/// characters, then `…` when there are more.
pub fn clip(value: &str) -> String {
    match value.char_indices().nth(ECHO_CHARS) {
        None => printable(value),
        Some((end, _)) => format!("{}…", printable(&value[..end])),
    }
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`), so that
/// a name holding a newline cannot break an error line in two.
pub fn printable(text: &str) -> String {
    if !text.contains(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// A path as an error message shows it: whole up to [`ECHO_CHARS`]
/// characters, else its start and its end (the file's name), since a goal
/// file may name any path.
pub fn shown(path: &std::path::Path) -> String {
    clip_middle(&path.display().to_string(), ECHO_CHARS)
}

/// A message of at most `max` characters: a longer one keeps its start and
/// its end, which name the file and say what was expected, with `…`
/// between.
pub fn clip_middle(message: &str, max: usize) -> String {
    let count = message.chars().count();
    if count <= max {
        return message.to_string();
    }
    let head = max * 2 / 3;
    let tail = max.saturating_sub(head + 1);
    let start: String = message.chars().take(head).collect();
    let end: String = message.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_lists_every_problem_on_one_line() {
        let e = Error::Unsupported {
            path: "m.onnx".into(),
            problems: vec![
                NodeProblem { node: "a".into(), op_type: "Foo".into(), message: "op not supported".into() },
                NodeProblem { node: "b".into(), op_type: "Bar".into(), message: "op not supported".into() },
            ],
        };
        let s = e.to_string();
        assert!(!s.contains('\n'));
        assert!(s.contains("node 'a' (Foo)") && s.contains("node 'b' (Bar)"), "{s}");
    }

    #[test]
    fn echoed_values_are_clipped() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(ECHO_CHARS + 5);
        assert_eq!(clip(&long), format!("{}…", "é".repeat(ECHO_CHARS)));
        assert_eq!(clip_middle("abcdef", 6), "abcdef");
        assert_eq!(clip_middle("abcdefghij", 7), "abcd…ij");
        let line = format!("g.json: at /kind: unknown kind '{}' (one of a, b)", "x".repeat(50_000_000));
        let clipped = clip_middle(&line, LINE_CHARS);
        assert_eq!(clipped.chars().count(), LINE_CHARS);
        assert!(clipped.starts_with("g.json: at /kind") && clipped.ends_with("(one of a, b)"));
    }

    #[test]
    fn long_node_names_and_paths_are_clipped() {
        let p = NodeProblem { node: "n".repeat(5000), op_type: "Relu".into(), message: "op not supported".into() };
        assert_eq!(p.to_string(), format!("node '{}…' (Relu): op not supported", "n".repeat(ECHO_CHARS)));
        let path = format!("/tmp/{}/x.npy", "k".repeat(5000));
        let e = Error::data(path, "no such file").to_string();
        assert!(e.starts_with("/tmp/kkk") && e.ends_with("kkk/x.npy: no such file") && e.len() < 300, "{e}");
        assert_eq!(Error::data("/tmp/x.npy", "bad").to_string(), "/tmp/x.npy: bad");
        let p = NodeProblem { node: "a\nb".into(), op_type: "Relu".into(), message: "input 'c\rd' missing".into() };
        assert_eq!(p.to_string(), "node 'a\\nb' (Relu): input 'c\\rd' missing");
    }
}
