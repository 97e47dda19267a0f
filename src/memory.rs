//! The memory a command may use: the limit (`--max-memory`, by default a
//! share of the machine's memory), sizes as a user writes them (`8G`,
//! `512M`, bytes), and the estimate of what a run, audit, bench or falsify
//! allocates, checked from the settings before any graph is built, so that
//! a run too large for the machine stops at once with exit 2 instead of
//! being killed by the kernel or aborted by a failed allocation.

use std::fmt;

use crate::error::{Error, Result};
use crate::goal::Goal;
use crate::ir::Graph;
use crate::optim::normalisers::{self, NormaliserMethod};
use crate::optim::{Settings, Stage};
use crate::runtime::select::Runtime;

/// The share of the machine's memory a command may use by default, in
/// percent: the rest is left to the system and to the other programs.
pub const DEFAULT_SHARE_PERCENT: u64 = 75;

/// The default limit where the machine's memory cannot be read.
pub const FALLBACK_LIMIT: u64 = 8 << 30;

/// Floats a row keeps per input element and per ReLU neuron besides the
/// graphs' activations: the point, its bounds and step state, gradients;
/// eta, its normalisers, gradient and the pre-activations.
const PER_INPUT_FLOATS: u64 = 16;
const PER_NEURON_FLOATS: u64 = 8;

/// Tangent rows the normalisers push through the network per call at most,
/// and the exact method's tangents per sample and call.
const TANGENT_ROWS_PER_CALL: u64 = normalisers::TANGENT_ROWS_PER_CALL as u64;
const EXACT_CHUNK: u64 = normalisers::EXACT_CHUNK as u64;

/// A number of bytes, printed with a binary unit (`1.5 GiB`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} bytes", self.0);
        }
        let mut v = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        write!(f, "{v:.1} {}", UNITS[unit])
    }
}

/// Reads a size: a whole number of bytes, or a number with a binary unit
/// `K`, `M`, `G`, `T` (optionally followed by `B` or `iB`, any case):
/// `8G`, `512M`, `1.5GiB`, `1000000`.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let not_a_size = || format!("'{}' is not a size (bytes, or a number with K, M, G or T)", crate::error::clip(text));
    if number.is_empty() {
        return Err(not_a_size());
    }
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(format!("'{}': unknown unit (K, M, G or T, e.g. 8G or 512M)", crate::error::clip(text))),
    };
    let value: f64 = number.parse().map_err(|_| not_a_size())?;
    let bytes = value * (1u64 << shift) as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("'{}': a size must be at least 1 byte and below 16 EiB", crate::error::clip(text)));
    }
    Ok(bytes as u64)
}

/// The machine's memory: the smaller of `MemTotal` in `/proc/meminfo` and
/// the memory limit of this process's cgroup (v2 `memory.max`, v1
/// `memory.limit_in_bytes`), with where it was read.
pub fn machine_memory() -> Option<(u64, &'static str)> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| mem_total(&m)).map(|b| (b, "MemTotal"));
    let cgroup = cgroup_limit().map(|b| (b, "the cgroup's memory limit"));
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(if c.0 < t.0 { c } else { t }),
        (t, c) => t.or(c),
    }
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The cgroup's memory limit, if one is set: the first of this process's
/// own cgroup (v2, then v1) and the root's files that holds a number below
/// 2^60 (v1 writes "no limit" as a number near 2^63, v2 as `max`).
fn cgroup_limit() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut files = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next(), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let path = path.trim_start_matches('/');
        if controllers.is_empty() {
            files.push(format!("/sys/fs/cgroup/{path}/memory.max"));
        } else if controllers.split(',').any(|c| c == "memory") {
            files.push(format!("/sys/fs/cgroup/memory/{path}/memory.limit_in_bytes"));
        }
    }
    files.push("/sys/fs/cgroup/memory.max".into());
    files.push("/sys/fs/cgroup/memory/memory.limit_in_bytes".into());
    files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .filter_map(|t| t.trim().parse::<u64>().ok())
        .find(|&b| b < 1 << 60)
}

/// The memory a command may use, with where the number came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryLimit {
    pub bytes: u64,
    /// `--max-memory`, or the default's rule (`75% of MemTotal 23.5 GiB`).
    pub origin: String,
}

impl MemoryLimit {
    /// `--max-memory` when given, else [`DEFAULT_SHARE_PERCENT`] of the
    /// machine's memory, else [`FALLBACK_LIMIT`].
    pub fn new(flag: Option<u64>) -> MemoryLimit {
        if let Some(bytes) = flag {
            return MemoryLimit { bytes, origin: "as given".into() };
        }
        match machine_memory() {
            Some((total, from)) => MemoryLimit {
                bytes: total / 100 * DEFAULT_SHARE_PERCENT,
                origin: format!("the default, {DEFAULT_SHARE_PERCENT}% of {from} {}", Bytes(total)),
            },
            None => MemoryLimit {
                bytes: FALLBACK_LIMIT,
                origin: format!("the default where the machine's memory cannot be read, {}", Bytes(FALLBACK_LIMIT)),
            },
        }
    }

    /// No limit (tests and library users that size their own work).
    pub fn unlimited() -> MemoryLimit {
        MemoryLimit { bytes: u64::MAX, origin: "no limit".into() }
    }

    /// Fails with [`Error::MemoryLimit`] when `estimate` exceeds the limit.
    pub fn check(&self, command: &str, estimate: &Estimate) -> Result<()> {
        if estimate.bytes <= self.bytes {
            return Ok(());
        }
        let exceeded = Exceeded { command, estimate, limit: self };
        Err(Error::MemoryLimit(exceeded.to_string()))
    }
}

impl MemoryLimit {
    /// The most rows of `w`'s batch (its goals times restarts) whose
    /// [`estimate`] fits the limit together, at least one: the waves that
    /// `optim::optimise` streams them through. Fails as
    /// [`check`](Self::check) does when not even one row fits (its
    /// normaliser tangents, most likely).
    pub fn rows_that_fit(&self, command: &str, w: &Workload) -> Result<usize> {
        let with_rows =
            |rows: usize| estimate(&Workload { goals: (1, w.goals.1), restarts: (rows, w.restarts.1), ..w.clone() });
        self.check(command, &with_rows(1))?;
        let (mut lo, mut hi) = (1usize, w.goals.0.saturating_mul(w.restarts.0).max(1));
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if with_rows(mid).bytes <= self.bytes {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(lo)
    }
}

/// A command's estimate beyond its limit, as [`Error::MemoryLimit`] says
/// it: the estimate, the limit and its origin, the setting to lower.
struct Exceeded<'a> {
    /// `run`, `audit`, `bench` or `falsify`.
    command: &'a str,
    estimate: &'a Estimate,
    limit: &'a MemoryLimit,
}

impl fmt::Display for Exceeded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (e, l) = (&self.estimate, &self.limit);
        write!(
            f,
            "{} would need about {} of memory ({}), more than --max-memory {} ({}); lower {}, or raise --max-memory",
            self.command,
            Bytes(e.bytes),
            e.detail,
            Bytes(l.bytes),
            l.origin,
            e.setting
        )
    }
}

/// What a command will run, for its estimate.
#[derive(Debug, Clone)]
pub struct Workload<'a> {
    pub graph: &'a Graph,
    pub runtime: Runtime,
    /// Goals of one batch (samples of an audit batch, disjuncts, 1 for a
    /// run) and the setting that sets them (`--batch`), if any.
    pub goals: (usize, Option<&'a str>),
    /// Starts per goal and the setting that sets them (`--restarts`).
    pub restarts: (usize, &'a str),
    /// The ADR normalisers, when ADR runs.
    pub normalisers: Option<NormaliserMethod>,
}

impl<'a> Workload<'a> {
    /// The workload of `settings` on `goals` (a batch of `batch.0` goals,
    /// set by the flag `batch.1`); the normalisers count when ADR runs.
    pub fn of(
        graph: &'a Graph,
        runtime: Runtime,
        settings: &Settings,
        goals: &[Goal],
        batch: (usize, Option<&'a str>),
    ) -> Self {
        let adr = Stage::plan(settings, goals).contains(&Stage::Adr);
        Workload {
            graph,
            runtime,
            goals: batch,
            restarts: (settings.restarts, "--restarts (or method.restarts)"),
            normalisers: adr.then_some(settings.normalisers),
        }
    }
}

/// The bytes a command is estimated to need, what they are, and the
/// setting that drives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub bytes: u64,
    /// What was counted, e.g. `1000000000 rows of 331.2 KiB`.
    pub detail: String,
    /// The settings to lower, e.g. `--restarts`.
    pub setting: String,
}

/// Bytes one row of a batch needs: its graphs' activations times the
/// runtime's copies, and the row's own state. Saturating: an estimate
/// past 2^64 bytes is as refused as one of 2^64.
pub fn row_bytes(graph: &Graph, runtime: Runtime) -> u64 {
    let floats = (graph.activation_floats() as u64)
        .saturating_mul(runtime.batch_copies())
        .saturating_add((graph.input_size() as u64).saturating_mul(PER_INPUT_FLOATS))
        .saturating_add((crate::surrogate::total_neurons(graph) as u64).saturating_mul(PER_NEURON_FLOATS));
    floats.saturating_mul(4)
}

/// The estimate for one sample of the model: whether the model itself fits
/// before a goal or a dataset sized by it is read.
pub fn model_estimate(graph: &Graph, runtime: Runtime) -> Estimate {
    Estimate {
        bytes: row_bytes(graph, runtime),
        detail: format!("one sample: {} activation values", graph.activation_floats()),
        setting: "the model's tensors".into(),
    }
}

/// The estimate of a workload: rows of a batch (goals times restarts)
/// times [`row_bytes`], plus the ADR normalisers' tangent rows.
pub fn estimate(w: &Workload) -> Estimate {
    let per_row = row_bytes(w.graph, w.runtime);
    let rows = (w.goals.0 as u64).saturating_mul(w.restarts.0 as u64);
    let batch_bytes = rows.saturating_mul(per_row);
    let rows_setting = match w.goals.1 {
        Some(goals) if w.goals.0 > 1 && w.restarts.0 > 1 => format!("{goals} or {}", w.restarts.1),
        Some(goals) if w.goals.0 > 1 => goals.to_string(),
        _ => w.restarts.1.to_string(),
    };
    let mut best = Estimate {
        bytes: batch_bytes,
        detail: format!("{rows} rows of {} each", Bytes(per_row)),
        setting: rows_setting,
    };
    let sites = || crate::surrogate::relu_sites(w.graph);
    let host_jacobians = match w.normalisers {
        Some(NormaliserMethod::Exact) => {
            normalisers::host_jacobian_floats(w.graph, &sites(), rows as usize, w.graph.input_size())
        }
        _ => None,
    };
    if let Some(floats) = host_jacobians {
        // A dense chain's exact normalisers: each row's Jacobians on the host.
        let jacobian_bytes = (floats as u64).saturating_mul(4);
        best.bytes = batch_bytes.saturating_add(jacobian_bytes);
        if jacobian_bytes > batch_bytes {
            best.detail = format!("{rows} rows' normaliser Jacobians of {} each", Bytes(jacobian_bytes / rows.max(1)));
        }
    } else if let Some(method) = w.normalisers {
        // Each call pushes `per_call` tangents for each of up to `group`
        // samples through the network, and the host holds them as inputs.
        let n = w.graph.input_size() as u64;
        let (per_call, setting) = match method {
            NormaliserMethod::Exact => (n.clamp(1, EXACT_CHUNK), None),
            NormaliserMethod::Random { tangents } => {
                ((tangents as u64).max(1), Some("tangents (--set tangents=N, or the goal's method.tangents)"))
            }
        };
        let group = (TANGENT_ROWS_PER_CALL / per_call).clamp(1, rows.max(1));
        let tangent_rows = group.saturating_mul(per_call);
        let tangent_row = (w.graph.activation_floats() as u64)
            .saturating_mul(w.runtime.batch_copies())
            .saturating_add(n)
            .saturating_mul(4);
        let tangent_bytes = tangent_rows.saturating_mul(tangent_row);
        let total = batch_bytes.saturating_add(tangent_bytes);
        best.bytes = total;
        if tangent_bytes > batch_bytes {
            best.detail = format!("{tangent_rows} normaliser tangent rows of {} each", Bytes(tangent_row));
            if let Some(s) = setting {
                best.setting = s.to_string();
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("1000000"), Ok(1_000_000));
        assert_eq!(parse_size("64kb"), Ok(64 << 10));
        assert!(parse_size("8X").unwrap_err().contains("unknown unit"));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_size("0").is_err());
        assert!(parse_size("99999999T").is_err());
    }

    #[test]
    fn bytes_print_with_a_binary_unit() {
        assert_eq!(Bytes(512).to_string(), "512 bytes");
        assert_eq!(Bytes(3 << 29).to_string(), "1.5 GiB");
        assert_eq!(Bytes(u64::MAX).to_string(), "16.0 EiB");
    }

    #[test]
    fn mem_total_is_read_in_bytes() {
        assert_eq!(mem_total("MemTotal:       24683584 kB\nMemFree: 1 kB\n"), Some(24683584 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    /// x [4] -> Dense [4, 3] -> Relu: 10 activation values, 4 inputs, 3 neurons.
    fn small_graph() -> Graph {
        use crate::ir::op::{Dense, Op, Relu};
        let mut g = Graph::new();
        let x = g.add_input("x", vec![4]).unwrap();
        let d = Dense { weight: ndarray::Array2::zeros((4, 3)), bias: None };
        let h = g.add_node("fc", "Gemm", Op::Dense(d), vec![x], "h").unwrap();
        g.add_node("relu", "Relu", Op::Relu(Relu), vec![h], "r").unwrap();
        g
    }

    #[test]
    fn the_estimate_counts_rows_and_tangents_and_names_the_larger() {
        let g = small_graph();
        // (10 * 8 + 4 * 16 + 3 * 8) floats of 4 bytes.
        assert_eq!(row_bytes(&g, Runtime::Tract), 672);
        assert_eq!(row_bytes(&g, Runtime::OnnxRuntime), (10 * 32 + 64 + 24) * 4);
        let w = Workload {
            graph: &g,
            runtime: Runtime::Tract,
            goals: (3, Some("--batch")),
            restarts: (5, "--restarts"),
            normalisers: None,
        };
        let e = estimate(&w);
        assert_eq!((e.bytes, e.setting.as_str()), (15 * 672, "--batch or --restarts"));
        let e = estimate(&Workload { goals: (1, None), restarts: (usize::MAX, "--restarts"), ..w.clone() });
        assert_eq!(e.bytes, u64::MAX, "saturates");
        let random = Some(NormaliserMethod::Random { tangents: 1 << 20 });
        let e = estimate(&Workload { goals: (1, None), restarts: (1, "--restarts"), normalisers: random, ..w });
        assert_eq!(e.bytes, 672 + (1 << 20) * (10 * 8 + 4) * 4);
        assert!(e.setting.starts_with("tangents"), "{}", e.setting);
    }

    /// A dense chain's exact normalisers are Jacobians kept on the host:
    /// `neurons * (inputs + 1)` floats a row, while they fit in
    /// `HOST_JACOBIAN_FLOATS`; above it, the normaliser graph's tangents.
    #[test]
    fn exact_normalisers_of_a_dense_chain_count_their_host_jacobians() {
        let g = small_graph();
        let exact = Some(NormaliserMethod::Exact);
        let w = Workload {
            graph: &g,
            runtime: Runtime::Tract,
            goals: (3, None),
            restarts: (5, "--restarts"),
            normalisers: exact,
        };
        assert_eq!(estimate(&w).bytes, 15 * 672 + 15 * 3 * 5 * 4);
        let rows = normalisers::HOST_JACOBIAN_FLOATS / 15 + 1;
        let e = estimate(&Workload { goals: (1, None), restarts: (rows, "--restarts"), ..w });
        let tangent_rows = (TANGENT_ROWS_PER_CALL / 4) * 4;
        assert_eq!(e.bytes, rows as u64 * 672 + tangent_rows * (10 * 8 + 4) * 4);
    }

    #[test]
    fn the_limit_names_its_origin_and_the_setting() {
        let limit = MemoryLimit::new(Some(1 << 30));
        let e = Estimate { bytes: 2 << 30, detail: "2 rows of 1.0 GiB each".into(), setting: "--restarts".into() };
        let err = limit.check("run", &e).unwrap_err().to_string();
        assert!(err.contains("--max-memory 1.0 GiB") && err.contains("lower --restarts"), "{err}");
        assert!(limit.check("run", &Estimate { bytes: 1 << 30, ..e }).is_ok());
        assert!(MemoryLimit::new(None).bytes > 0);
    }
}
