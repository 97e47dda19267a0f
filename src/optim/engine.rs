//! The graphs of a run, loaded once on the backend, and typed calls to
//! them: the ADR step, the true gradient and the true forward pass, for a
//! batch of rows (goal instances times restarts). A call may carry fewer
//! rows than the engine's batch (the rows still searching): it runs on a
//! graph of the next power of two of rows (at most the batch), loaded on
//! first use, so that a batch costs what its unfinished rows cost.
//!
//! A batch-invariant engine (audits, whose shards must merge into exactly
//! the unsharded report) runs every call as calls of one fixed number of
//! rows ([`INVARIANT_ROWS`]): a row's result then never depends on its
//! batch companions, its place in the batch or how many rows still search.
//! It loads each graph once, for the whole batch, and a call runs only the
//! fixed-row calls its rows need (no padding to a power of two).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use ndarray::{Array1, Array2, ArrayD, Axis};

use crate::error::Result;
use crate::ir::ValueId;
use crate::lower::pre_name;
use crate::lower::step::{eval_graph, gradient_graph, names, step_graph, Problem};
use crate::objective::Objective;
use crate::onnx::ImportedModel;
use crate::runtime::parallel::INVARIANT_ROWS;
use crate::runtime::{run_named, run_named_rows, Backend, Executable, HostTensor};
use crate::writer::{OnnxGraph, Precision};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GraphKey {
    Step(Objective),
    Gradient(Objective),
    Eval,
}

/// The true network at a batch of points.
pub struct Truth {
    /// The objective's tensor `[B, m]`.
    pub y: Array2<f32>,
    /// The reported output `[B, m']` (equals `y` unless a softmax head).
    pub output: Array2<f32>,
    /// Pre-activations per site `[B, N_k]`: from [`Engine::eval`] only
    /// (empty from the step and gradient graphs, which do not output them).
    pub pre: Vec<Array2<f32>>,
}

pub struct StepResult {
    pub loss: Array1<f32>,
    pub objective: Array1<f32>,
    pub consistency: Array1<f32>,
    pub grad_x: Array2<f32>,
    pub grad_eta: Vec<Array2<f32>>,
    pub truth: Truth,
}

pub struct GradientResult {
    pub objective: Array1<f32>,
    pub grad_x: Array2<f32>,
    pub truth: Truth,
}

/// What a step needs besides the points.
pub struct StepState<'a> {
    pub x: &'a Array2<f32>,
    pub free: &'a Array2<f32>,
    pub c: &'a Array1<f32>,
    pub eta: &'a [Array2<f32>],
    pub inv_norm: &'a [Array2<f32>],
    pub params: &'a [ArrayD<f32>],
}

pub struct Engine<'a> {
    pub model: &'a ImportedModel,
    backend: &'a dyn Backend,
    pub target: ValueId,
    pub report: ValueId,
    pub batch: usize,
    pub alpha: f64,
    loaded: HashMap<(GraphKey, usize), (OnnxGraph, Box<dyn Executable>)>,
    sites: usize,
    /// Rows of every backend call, when the engine is batch-invariant.
    call_rows: Option<usize>,
    /// Most rows searched at once (`optim::optimise` streams the rest in
    /// waves): what the memory limit allows.
    max_rows: usize,
    /// Seconds spent building and loading graphs.
    pub load_seconds: f64,
    /// Calls made, by kind.
    pub calls: CallCounts,
    /// Seconds spent in each stage of [`crate::optim::optimise`] (by the
    /// stage's report name), over every search this engine ran.
    pub stage_seconds: BTreeMap<&'static str, f64>,
}

/// How many calls of each graph an engine made (rows of the calls summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub step_rows: usize,
    pub gradient_rows: usize,
    pub eval_rows: usize,
}

fn to2(t: &HostTensor) -> Array2<f32> {
    let a = t.to_f32();
    let rows = a.shape().first().copied().unwrap_or(1);
    let cols = a.len() / rows.max(1);
    a.into_shape_with_order((rows, cols)).expect("graph outputs are [B, ...]")
}

fn to1(t: &HostTensor) -> Array1<f32> {
    t.to_f32().into_iter().collect()
}

impl<'a> Engine<'a> {
    pub fn new(
        model: &'a ImportedModel,
        backend: &'a dyn Backend,
        target: ValueId,
        report: ValueId,
        batch: usize,
        alpha: f64,
    ) -> Self {
        let sites = crate::surrogate::relu_sites(&model.graph).len();
        Engine {
            model,
            backend,
            target,
            report,
            batch,
            alpha,
            loaded: HashMap::new(),
            sites,
            call_rows: None,
            max_rows: usize::MAX,
            load_seconds: 0.0,
            calls: CallCounts::default(),
            stage_seconds: BTreeMap::new(),
        }
    }

    /// Whether the network has an activation site (ADR needs one).
    pub fn has_relu(&self) -> bool {
        self.sites > 0
    }

    /// Makes every call run as calls of [`INVARIANT_ROWS`] rows, so that a
    /// row's result depends on that row alone.
    pub fn batch_invariant(mut self) -> Self {
        self.call_rows = Some(INVARIANT_ROWS);
        self
    }

    /// Searches at most `rows` rows at once (at least one).
    pub fn with_max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    pub fn is_batch_invariant(&self) -> bool {
        self.call_rows.is_some()
    }

    pub fn problem(&self, objective: Objective) -> Problem<'a> {
        let mut p = Problem::new(self.model, self.target, objective, self.alpha, Precision::F32);
        p.report = Some(self.report);
        p
    }

    pub fn backend(&self) -> &'a dyn Backend {
        self.backend
    }

    /// The rows of the graph that serves a call of `rows` rows: the next
    /// power of two (at most the batch). A batch-invariant engine loads its
    /// graphs for the whole batch as calls of a fixed number of rows, and
    /// runs only the calls the rows need.
    fn graph_rows(&self, rows: usize) -> usize {
        if self.call_rows.is_some() || rows >= self.batch {
            rows.max(self.batch)
        } else {
            rows.next_power_of_two().min(self.batch)
        }
    }

    /// Runs the graph `key` on `rows` rows. A batch-invariant engine runs
    /// exactly the fixed-row calls they need; otherwise the rows are padded
    /// to the graph's rows (repeating the last) and the padding is dropped
    /// from the outputs.
    fn run(
        &mut self,
        key: GraphKey,
        rows: usize,
        mut inputs: HashMap<String, HostTensor>,
    ) -> Result<HashMap<String, HostTensor>> {
        if rows == 0 {
            return Err(crate::Error::internal(format!("a call of the {key:?} graph with no rows")));
        }
        let graph_rows = self.graph_rows(rows);
        if self.call_rows.is_some() {
            let (graph, exe) = self.loaded(key, graph_rows)?;
            return run_named_rows(exe.as_mut(), graph, inputs, rows);
        }
        if graph_rows != rows {
            for t in inputs.values_mut() {
                *t = crate::runtime::parallel::take_rows(t, 0, graph_rows, rows);
            }
        }
        let (graph, exe) = self.loaded(key, graph_rows)?;
        let mut out = run_named(exe.as_mut(), graph, inputs)?;
        if graph_rows != rows {
            for t in out.values_mut() {
                *t = crate::runtime::parallel::take_rows(t, 0, rows, graph_rows);
            }
        }
        Ok(out)
    }

    /// The graph `key` for `batch` rows and its executable, loaded on first use.
    fn loaded(&mut self, key: GraphKey, batch: usize) -> Result<(&OnnxGraph, &mut Box<dyn Executable>)> {
        let key = (key, batch);
        if !self.loaded.contains_key(&key) {
            let start = Instant::now();
            let build = |rows: usize| match key.0 {
                GraphKey::Step(o) => step_graph(&self.problem(o), rows),
                GraphKey::Gradient(o) => gradient_graph(&self.problem(o), rows),
                GraphKey::Eval => eval_graph(&self.problem(Objective::SquaredError), rows),
            };
            let floats = self.model.graph.activation_floats();
            let exe = match self.call_rows {
                Some(call) => self.backend.load_fixed_rows(&build, batch, call)?,
                None => self.backend.load_batched(&build, batch, floats)?,
            };
            let graph = build(batch);
            self.loaded.insert(key, (graph, exe));
            self.load_seconds += start.elapsed().as_secs_f64();
        }
        let (graph, exe) = self.loaded.get_mut(&key).expect("inserted above");
        Ok((graph, exe))
    }

    fn truth(&self, out: &HashMap<String, HostTensor>) -> Truth {
        let y = to2(&out[names::Y]);
        let output = out.get(names::OUTPUT).map_or_else(|| y.clone(), to2);
        let pre = (0..self.sites).map_while(|k| out.get(&pre_name(k)).map(to2)).collect();
        Truth { y, output, pre }
    }

    fn params(objective: Objective, params: &[ArrayD<f32>], inputs: &mut HashMap<String, HostTensor>) {
        for (n, p) in objective.param_names().iter().zip(params) {
            inputs.insert(n.to_string(), HostTensor::F32(p.clone()));
        }
    }

    /// One ADR-GD evaluation.
    pub fn step(&mut self, objective: Objective, s: &StepState) -> Result<StepResult> {
        let mut inputs = HashMap::new();
        inputs.insert(names::X.to_string(), HostTensor::F32(s.x.clone().into_dyn()));
        inputs.insert(names::FREE.to_string(), HostTensor::F32(s.free.clone().into_dyn()));
        inputs.insert(names::C.to_string(), HostTensor::F32(s.c.clone().into_dyn()));
        for (k, (e, n)) in s.eta.iter().zip(s.inv_norm).enumerate() {
            inputs.insert(names::eta(k), HostTensor::F32(e.clone().into_dyn()));
            inputs.insert(names::inv_norm(k), HostTensor::F32(n.clone().into_dyn()));
        }
        Self::params(objective, s.params, &mut inputs);
        let rows = s.x.nrows();
        self.calls.step_rows += rows;
        let out = self.run(GraphKey::Step(objective), rows, inputs)?;
        Ok(StepResult {
            loss: to1(&out[names::LOSS]),
            objective: to1(&out[names::OBJECTIVE]),
            consistency: to1(&out[names::CONSISTENCY]),
            grad_x: to2(&out[names::GRAD_X]),
            grad_eta: (0..s.eta.len()).map(|k| to2(&out[&names::grad_eta(k)])).collect(),
            truth: self.truth(&out),
        })
    }

    /// The true network's objective and input gradient.
    pub fn gradient(
        &mut self,
        objective: Objective,
        x: &Array2<f32>,
        free: &Array2<f32>,
        params: &[ArrayD<f32>],
    ) -> Result<GradientResult> {
        let mut inputs = HashMap::new();
        inputs.insert(names::X.to_string(), HostTensor::F32(x.clone().into_dyn()));
        inputs.insert(names::FREE.to_string(), HostTensor::F32(free.clone().into_dyn()));
        Self::params(objective, params, &mut inputs);
        let rows = x.nrows();
        self.calls.gradient_rows += rows;
        let out = self.run(GraphKey::Gradient(objective), rows, inputs)?;
        Ok(GradientResult {
            objective: to1(&out[names::OBJECTIVE]),
            grad_x: to2(&out[names::GRAD_X]),
            truth: self.truth(&out),
        })
    }

    /// The true network at `x`.
    pub fn eval(&mut self, x: &Array2<f32>) -> Result<Truth> {
        let mut inputs = HashMap::new();
        inputs.insert(names::X.to_string(), HostTensor::F32(x.clone().into_dyn()));
        let rows = x.nrows();
        self.calls.eval_rows += rows;
        let out = self.run(GraphKey::Eval, rows, inputs)?;
        Ok(self.truth(&out))
    }
}

/// Stacks per-row parameter slices into batched arrays, one per graph input.
pub fn stack_params(rows: &[Vec<ArrayD<f32>>]) -> Result<Vec<ArrayD<f32>>> {
    let Some(first) = rows.first() else { return Ok(Vec::new()) };
    (0..first.len())
        .map(|i| {
            let views: Vec<_> = rows.iter().map(|r| r[i].view().insert_axis(Axis(0))).collect();
            ndarray::concatenate(Axis(0), &views).map_err(|e| {
                crate::Error::internal(format!(
                    "the goals of one batch have objective parameters of different shapes: {e}"
                ))
            })
        })
        .collect()
}
