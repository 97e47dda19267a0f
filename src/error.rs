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

/// Everything that can go wrong in the library. Each variant is one reason,
/// with the file, node, flag or count it concerns as fields; its message is
/// one line (control characters in echoed text escaped).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file that cannot be read or written. The I/O error is part of the
    /// message (not a separate source), so that error chains print it once.
    #[error("{}: {error}", shown(.path))]
    Io { path: PathBuf, error: std::io::Error },

    /// A file that does not parse as an ONNX model.
    #[error("{path}: not a readable ONNX model: {}", printable(.reason))]
    NotOnnx { path: PathBuf, reason: String },

    /// A model with nodes the importer cannot turn into the IR, every one named.
    #[error("{path}: unsupported model: {}", join_problems(.problems))]
    Unsupported { path: PathBuf, problems: Vec<NodeProblem> },

    /// A model the importer refuses for a reason of the whole model (its
    /// opset, a weight, an input's shape).
    #[error("{path}: {}", printable(.message))]
    Model { path: PathBuf, message: String },

    /// A model that breaks the ONNX rules (duplicate outputs, wrong arity),
    /// every offending node named.
    #[error("{path}: invalid ONNX model: {}", join_problems(.problems))]
    InvalidModel { path: PathBuf, problems: Vec<NodeProblem> },

    /// ADR asked of a model without a ReLU (`ops`: the ops it has).
    #[error("{path}: graph has no ReLU (ops: {}); activation descent needs at least one ReLU site", clip(.ops))]
    NoRelu { path: PathBuf, ops: String },

    /// A tensor whose external data lies outside the model's folder.
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

    /// A backend (tract, ONNX Runtime, the segmented runner) that failed to
    /// load or run one graph.
    #[error("runtime {backend} on graph '{graph}': {message}")]
    Runtime { backend: String, graph: String, message: String },

    /// ONNX Runtime's shared library not found, not loadable, too old, or a
    /// second one in a process that loaded another; the message says where
    /// adr-onnx looked and how to install it.
    #[error("{}", printable(.message))]
    RuntimeLibrary { message: String },

    /// `--backend ort` (or `--ort-lib`) in a build without ONNX Runtime.
    #[error("this build of adr-onnx has no ONNX Runtime backend (the static build); use --backend tract")]
    NoOrtBackend,

    /// A CUDA `--device` with `--backend tract`.
    #[error("--device {} needs --backend ort: tract runs on the CPU only", printable(.device))]
    DeviceNeedsOrt { device: String },

    /// A goal file that breaks its schema or does not fit the model, at a
    /// JSON pointer.
    #[error("{file}: at {}: {}", clip(.pointer), printable(.message))]
    Goal { file: PathBuf, pointer: String, message: String },

    /// Method settings that fail validation, resolved from the goal file
    /// `file` and the command line.
    #[error("{}: {}", printable_path(.file), printable(.message))]
    Settings { file: PathBuf, message: String },

    /// Method settings that fail validation, resolved from one disjunct of
    /// a VNN-LIB property.
    #[error("method settings (disjunct {disjunct}): {}", printable(.message))]
    DisjunctSettings { disjunct: usize, message: String },

    /// A bench case whose settings (from its goal's method block, `--set`
    /// and the defaults) fail validation.
    #[error("settings (from {}'s method block, --set and the defaults): {}", printable_path(.file), printable(.message))]
    BenchSettings { file: PathBuf, message: String },

    /// A data file (images, labels, `.npy`, a report to merge) whose
    /// content is wrong.
    #[error("{}: {}", shown(.path), printable(.message))]
    Data { path: PathBuf, message: String },

    /// A dataset whose images and labels count different samples.
    #[error("{} holds {image_count} images but {} holds {label_count} labels", printable_path(.images), printable_path(.labels))]
    DatasetMismatch { images: PathBuf, image_count: usize, labels: PathBuf, label_count: usize },

    /// `--shard k/n` with no sample of the dataset's `samples`.
    #[error("shard {k}/{n} holds no sample: N must not exceed the dataset's {samples} samples")]
    EmptyShard { k: usize, n: usize, samples: usize },

    /// `audit merge` without reports.
    #[error("no report to merge")]
    NothingToMerge,

    /// `audit merge` of shard reports that lack shard `k` of `n`.
    #[error("shard {k}/{n} is missing ({given} of {n} given)")]
    MissingShard { k: usize, n: usize, given: usize },

    /// An audit that stopped, as `--stop-after` asks, after `attacked`
    /// samples.
    #[error("stopped after attacking {attacked} samples, as --stop-after asks (the partial file keeps them)")]
    StoppedAfter { attacked: usize },

    /// A method (`square`, `apgd-t`) that attacks classification goals only,
    /// asked to attack another kind.
    #[error("{method} attacks classification goals (kind target_class) only")]
    ClassificationOnly { method: &'static str },

    /// A VNN-LIB property without any disjunct.
    #[error("{}: the property has no disjuncts (an empty unsafe set)", printable_path(.file))]
    EmptyProperty { file: PathBuf },

    /// A VNN-LIB property declaring another number of inputs than the model has.
    #[error("{}: the property declares {declared} inputs, the model has {model}", printable_path(.file))]
    PropertyInputs { file: PathBuf, declared: usize, model: usize },

    /// A VNN-LIB property declaring another number of outputs than the
    /// model's `output` has.
    #[error("{}: the property declares {declared} outputs, output '{}' has {model}", printable_path(.file), printable(.output))]
    PropertyOutputs { file: PathBuf, declared: usize, output: String, model: usize },

    /// A model with no output an objective can differentiate.
    #[error("the model has no differentiable output")]
    NoDifferentiableOutput,

    /// A model whose first output, the one a VNN-LIB property's `Y` name
    /// (and a checker reads), is not the output the search can use.
    #[error(
        "{}: a property's Y name the model's first output '{}', which adr-onnx cannot search (its searchable output is '{}'); export the model with that output first",
        printable_path(.model), printable(.first), printable(.searchable)
    )]
    FirstOutputNotSearchable { model: PathBuf, first: String, searchable: String },

    /// An input or output path that is not a regular file (`problem`: "is
    /// a directory", "is a FIFO, not a regular file", ...).
    #[error("{}: {problem}", shown(.path))]
    NotRegularFile { path: PathBuf, problem: &'static str },

    /// A file larger than adr-onnx reads for its kind (`what`).
    #[error("{path}: larger than {cap_mib} MiB, the most adr-onnx reads from {what}")]
    TooLarge { path: PathBuf, what: &'static str, cap_mib: u64 },

    /// An output path that is one of the command's inputs.
    #[error("{output}: refusing to overwrite {input}, an input of this command (the same file)")]
    OutputIsInput { output: PathBuf, input: PathBuf },

    /// Two outputs of one command at the same path.
    #[error("{first} and {second} are the same output file")]
    OutputTwice { first: PathBuf, second: PathBuf },

    /// A broken invariant of the library, never bad input (a batch's rows
    /// that do not stack, a worker thread that panicked, a run without
    /// output): a bug to report.
    #[error("{}", printable(.message))]
    Internal { message: String },
}

fn join_problems(problems: &[NodeProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io { path: path.into(), error }
    }

    /// A broken invariant ([`Error::Internal`]).
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal { message: message.into() }
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

/// A path as a message shows it, whole, its control characters escaped.
fn printable_path(path: &std::path::Path) -> String {
    printable(&path.display().to_string())
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

    /// The one line a user sees for each reason, as before the variants
    /// replaced `Invalid(String)`.
    #[test]
    fn each_reason_reads_as_one_line() {
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::RuntimeLibrary { message: "ONNX Runtime library not found (looked at: x)".into() },
                "ONNX Runtime library not found (looked at: x)",
            ),
            (
                Error::NoOrtBackend,
                "this build of adr-onnx has no ONNX Runtime backend (the static build); use --backend tract",
            ),
            (
                Error::BenchSettings { file: "g.json".into(), message: "alpha must be positive".into() },
                "settings (from g.json's method block, --set and the defaults): alpha must be positive",
            ),
            (
                Error::DeviceNeedsOrt { device: "cuda:1".into() },
                "--device cuda:1 needs --backend ort: tract runs on the CPU only",
            ),
            (
                Error::Settings { file: "t.json".into(), message: "restarts must be at least 1".into() },
                "t.json: restarts must be at least 1",
            ),
            (
                Error::DisjunctSettings { disjunct: 3, message: "alpha must be positive".into() },
                "method settings (disjunct 3): alpha must be positive",
            ),
            (
                Error::DatasetMismatch {
                    images: "i.npy".into(),
                    image_count: 32,
                    labels: "l.npy".into(),
                    label_count: 31,
                },
                "i.npy holds 32 images but l.npy holds 31 labels",
            ),
            (
                Error::EmptyShard { k: 9, n: 10, samples: 6 },
                "shard 9/10 holds no sample: N must not exceed the dataset's 6 samples",
            ),
            (Error::NothingToMerge, "no report to merge"),
            (Error::MissingShard { k: 1, n: 3, given: 2 }, "shard 1/3 is missing (2 of 3 given)"),
            (
                Error::StoppedAfter { attacked: 4 },
                "stopped after attacking 4 samples, as --stop-after asks (the partial file keeps them)",
            ),
            (
                Error::ClassificationOnly { method: "square" },
                "square attacks classification goals (kind target_class) only",
            ),
            (
                Error::EmptyProperty { file: "p.vnnlib".into() },
                "p.vnnlib: the property has no disjuncts (an empty unsafe set)",
            ),
            (
                Error::PropertyInputs { file: "p.vnnlib".into(), declared: 5, model: 4 },
                "p.vnnlib: the property declares 5 inputs, the model has 4",
            ),
            (
                Error::PropertyOutputs { file: "p.vnnlib".into(), declared: 2, output: "y".into(), model: 3 },
                "p.vnnlib: the property declares 2 outputs, output 'y' has 3",
            ),
            (Error::NoDifferentiableOutput, "the model has no differentiable output"),
            (
                Error::FirstOutputNotSearchable { model: "m.onnx".into(), first: "label".into(), searchable: "probs".into() },
                "m.onnx: a property's Y name the model's first output 'label', which adr-onnx cannot search (its searchable output is 'probs'); export the model with that output first",
            ),
            (Error::internal("a worker thread panicked"), "a worker thread panicked"),
        ];
        for (error, line) in cases {
            assert_eq!(error.to_string(), line);
        }
    }

    #[test]
    fn echoed_text_and_paths_cannot_break_the_line() {
        let e = Error::Settings { file: "a\nb.json".into(), message: "bad\rvalue".into() };
        assert_eq!(e.to_string(), "a\\nb.json: bad\\rvalue");
        let e = Error::PropertyOutputs { file: "p.vnnlib".into(), declared: 1, output: "y\n".into(), model: 2 };
        assert_eq!(e.to_string(), "p.vnnlib: the property declares 1 outputs, output 'y\\n' has 2");
        assert_eq!(Error::internal("no\ngraph").to_string(), "no\\ngraph");
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
