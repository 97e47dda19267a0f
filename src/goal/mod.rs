//! Goals: what the user asks for (a JSON file, see docs/goals.md),
//! validated against the model into a start point, a feasible set, the
//! tensor the objective reads and the criterion of success. Errors name the
//! goal file and the JSON pointer of the offending field.

pub mod data;
pub mod feasible;
pub mod schema;
pub mod strict_json;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{clip, clip_middle, Error, Result, ECHO_CHARS};
use crate::ir::{Op, ValueId};
use crate::objective::Objective;
use crate::onnx::ImportedModel;
use data::{inline_numbers_f64, kind_of, load_sample, Place};
use feasible::{Ball, FeasibleSet};
use schema::{
    Algorithm, BoxSpec, Direction, Loss, MethodBlock, Norm, OutputBoundSpec, ReconstructionSpec, TargetClassSpec,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    TargetClass,
    Reconstruction,
    OutputBound,
    /// A VNN-LIB disjunct: an input box and linear output constraints.
    Property,
}

/// When a goal counts as achieved, judged on the TRUE network's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Criterion {
    /// The argmax must become `target`, or (untargeted) leave `label`.
    Class { label: usize, target: Option<usize> },
    /// Mean squared error to `target` at most `tolerance` (none: no criterion).
    Reconstruction { target: Vec<f32>, tolerance: Option<f64> },
    /// Output element `index` beyond `bound` in `direction` (none: no criterion).
    Bound { index: usize, direction: Direction, bound: Option<f64> },
    /// Every row `a_r . y + b_r <= 0` (`a` row-major, `rows x m`): met when
    /// the largest margin is at most 0.
    Constraints { a: Vec<f32>, b: Vec<f32>, rows: usize },
}

/// Where a run starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    Given(Vec<f32>),
    /// A random point of the feasible set (seeded).
    Random,
}

#[derive(Debug, Clone)]
pub struct Goal {
    pub file: PathBuf,
    /// The goal JSON as given.
    pub echo: Value,
    pub kind: GoalKind,
    /// The tensor the objective reads (the logits under a softmax head).
    pub target: ValueId,
    /// The tensor reported as the output (the one the user named).
    pub output: ValueId,
    pub output_name: String,
    pub start: Start,
    pub feasible: FeasibleSet,
    pub criterion: Criterion,
    pub method: MethodBlock,
    /// Identifies the goal's random stream (its index in a dataset audit).
    pub stream: u64,
}

/// What the true network's output means for a goal.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Assessment {
    /// Lower is better: the classification margin, `-y_i` or `y_i`, the MSE.
    pub score: f64,
    /// The reported objective: cross-entropy of the true label, the output
    /// element, or the mean squared error.
    pub objective: f64,
    pub achieved: bool,
}

impl Assessment {
    /// A point no goal can be met at: its output the criterion reads, or
    /// the point itself, holds a NaN (or the point an infinity). It loses to
    /// every other point ([`crate::optim::track`]).
    pub const UNUSABLE: Assessment = Assessment { score: f64::NAN, objective: f64::NAN, achieved: false };
}

/// Reads and validates a goal file against the model.
pub fn load(path: &Path, model: &ImportedModel) -> Result<Goal> {
    let text = crate::input::read_document(path, "a goal file")?;
    parse(path, &text, model)
}

/// The goal (or audit template) JSON `goal` with its `epsilon` set to
/// `epsilon`; only a target_class goal has one. `path` names it in errors.
pub fn with_epsilon(path: &Path, goal: &Value, epsilon: f64) -> Result<Value> {
    let place = Place { file: path, pointer: String::new() };
    let mut goal = goal.clone();
    match goal.as_object_mut() {
        Some(obj) if obj.get("kind").and_then(Value::as_str) == Some("target_class") => {
            obj.insert("epsilon".into(), Value::from(epsilon));
            Ok(goal)
        }
        _ => Err(place.child("kind").error("--epsilon sets the radius of a target_class goal; this goal has none")),
    }
}

/// Validates goal JSON text; `path` names it and anchors relative paths.
pub fn parse(path: &Path, text: &str, model: &ImportedModel) -> Result<Goal> {
    let root = Place { file: path, pointer: String::new() };
    let mut echo: Value = serde_json::from_str(text).map_err(|e| root.error(format!("not valid JSON: {e}")))?;
    if let Some(r) = strict_json::first_repeated_key(text) {
        let place = Place { file: path, pointer: r.pointer };
        return Err(place.error(format!("key `{}` appears twice in this object", clip(&r.key))));
    }
    let Value::Object(map) = &mut echo else {
        return Err(root.error(format!("expected an object, found {}", kind_of(&echo))));
    };
    let mut body = map.clone();
    let kind = match body.remove("kind") {
        Some(Value::String(k)) => k,
        Some(other) => return Err(root.child("kind").error(format!("expected a string, found {}", kind_of(&other)))),
        None => return Err(root.error(format!("missing field `kind` (one of {})", schema::KINDS.join(", ")))),
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let body = Value::Object(body);
    let cx = Resolver { model, place: root, dir: &dir };
    let mut goal = match kind.as_str() {
        "target_class" => cx.target_class(typed(&cx.place, body)?)?,
        "reconstruction" => cx.reconstruction(typed(&cx.place, body)?)?,
        "output_bound" => cx.output_bound(typed(&cx.place, body)?)?,
        other => {
            return Err(cx.place.child("kind").error(format!(
                "unknown kind '{}' (one of {})",
                clip(other),
                schema::KINDS.join(", ")
            )))
        }
    };
    goal.echo = echo;
    Ok(goal)
}

/// A target_class goal without its input and label (an audit's template),
/// its fields checked once; [`ClassTemplate::goal`] makes each sample's
/// goal from it directly.
#[derive(Debug, Clone)]
pub struct ClassTemplate<'m> {
    model: &'m ImportedModel,
    file: PathBuf,
    echo: Value,
    spec: TargetClassSpec,
}

impl<'m> ClassTemplate<'m> {
    /// Reads the template `template` (from the file `path`) for `model`:
    /// its fields as a goal file's, `kind` aside, and `target`, which an
    /// audit reads as its rule for each sample's target (a class,
    /// `"random"`, `"least_likely"` or `"all"`).
    pub fn new(path: &Path, template: &Value, model: &'m ImportedModel) -> Result<Self> {
        let root = Place { file: path, pointer: String::new() };
        let Value::Object(map) = template else {
            return Err(root.error(format!("expected an object, found {}", kind_of(template))));
        };
        let mut body = map.clone();
        body.remove("kind");
        body.remove("target");
        let spec = typed(&root, Value::Object(body))?;
        Ok(ClassTemplate { model, file: path.to_path_buf(), echo: template.clone(), spec })
    }

    /// The goal on input `x0` with `label`, at `epsilon` (none: the
    /// template's) toward `target` (none: untargeted).
    pub fn goal(&self, x0: Vec<f32>, label: usize, epsilon: Option<f64>, target: Option<usize>) -> Result<Goal> {
        let dir = self.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let cx = Resolver { model: self.model, place: Place { file: &self.file, pointer: String::new() }, dir: &dir };
        let shape = cx.single_input_shape(&cx.place.child("input"))?;
        let x0 = data::check_sample(x0, &cx.place.child("input"), &shape)?;
        // Class indices beyond i64 are no class of any model: saturate, and
        // the class check below names them.
        let class = |c: usize| i64::try_from(c).unwrap_or(i64::MAX);
        let spec = TargetClassSpec {
            label: Some(class(label)),
            target: target.map(class),
            epsilon: epsilon.or(self.spec.epsilon),
            ..self.spec.clone()
        };
        let mut goal = cx.class_goal(spec, x0)?;
        goal.echo = self.echo.clone();
        Ok(goal)
    }
}

/// Deserialises with the JSON path of any error.
fn typed<T: serde::de::DeserializeOwned>(place: &Place, body: Value) -> Result<T> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let pointer: String = e
            .path()
            .iter()
            .map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                serde_path_to_error::Segment::Map { key } => format!("/{}", data::pointer_token(key)),
                serde_path_to_error::Segment::Enum { variant } => format!("/{variant}"),
                serde_path_to_error::Segment::Unknown => String::new(),
            })
            .collect();
        let inner = e.into_inner().to_string();
        let message = inner.split(" at line ").next().unwrap_or(&inner);
        Error::Goal {
            file: place.file.to_path_buf(),
            pointer: if pointer.is_empty() { "/".into() } else { clip_middle(&pointer, 2 * ECHO_CHARS) },
            message: clip_middle(message, 2 * ECHO_CHARS),
        }
    })
}

/// What each kind resolves, before the common fields are added.
struct Parts {
    target: ValueId,
    output: ValueId,
    output_name: String,
    start: Start,
    feasible: FeasibleSet,
    criterion: Criterion,
}

struct Resolver<'a> {
    model: &'a ImportedModel,
    place: Place<'a>,
    dir: &'a Path,
}

impl Resolver<'_> {
    fn n(&self) -> usize {
        self.model.graph.input_size()
    }

    /// Shape of the (single) input, or an error for multi-input models.
    fn single_input_shape(&self, place: &Place) -> Result<Vec<usize>> {
        match self.model.graph.inputs.as_slice() {
            [only] => Ok(self.model.graph.value(*only).shape.clone()),
            many => Err(place.error(format!(
                "the model has {} inputs ({}); this goal kind needs a model with one input",
                many.len(),
                many.iter().map(|&v| self.model.graph.value(v).name.clone()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The named output tensor, or the model's default.
    fn output_tensor(&self, name: Option<&str>, place: &Place) -> Result<(ValueId, String)> {
        match name {
            Some(n) => match self.model.graph.value_by_name(n) {
                Some(v) => Ok((v, n.to_string())),
                None => Err(place.error(format!(
                    "no tensor '{}' in the differentiable part of the model; objective outputs: {}",
                    clip(n),
                    self.model.candidates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))),
            },
            None => {
                let c = self
                    .model
                    .default_objective()
                    .ok_or_else(|| place.error("the model has no differentiable output"))?;
                Ok((c.value, c.name.clone()))
            }
        }
    }

    fn goal(&self, kind: GoalKind, parts: Parts, method: Option<MethodBlock>) -> Goal {
        Goal {
            file: self.place.file.to_path_buf(),
            echo: Value::Null,
            kind,
            target: parts.target,
            output: parts.output,
            output_name: parts.output_name,
            start: parts.start,
            feasible: parts.feasible,
            criterion: parts.criterion,
            method: method.unwrap_or_default(),
            stream: 0,
        }
    }

    /// A field serde would require (as serde reports its absence).
    fn required<T>(&self, value: Option<T>, key: &str) -> Result<T> {
        value.ok_or_else(|| self.place.error(format!("missing field `{key}`")))
    }

    fn target_class(&self, spec: TargetClassSpec) -> Result<Goal> {
        let input = self.required(spec.input.as_ref(), "input")?;
        self.required(spec.epsilon, "epsilon")?;
        let shape = self.single_input_shape(&self.place.child("input"))?;
        let x0 = load_sample(input, &self.place.child("input"), self.dir, &shape)?;
        self.class_goal(spec, x0)
    }

    /// The target_class goal of `spec` on the input `x0`.
    fn class_goal(&self, spec: TargetClassSpec, x0: Vec<f32>) -> Result<Goal> {
        let epsilon = self.required(spec.epsilon, "epsilon")?;
        let (output, output_name) =
            self.output_tensor(spec.output_name.as_deref(), &self.place.child("output_name"))?;
        let target = logits_of(self.model, output);
        let classes = self.model.graph.value(target).size();
        if classes < 2 {
            let message = format!(
                "output '{output_name}' has {classes} value{}; a classifier needs at least 2",
                if classes == 1 { "" } else { "s" }
            );
            return Err(match spec.output_name {
                Some(_) => self.place.child("output_name").error(message),
                None => self.place.error(message),
            });
        }
        let class = |v: Option<i64>, key: &str| -> Result<Option<usize>> {
            match v {
                None => Ok(None),
                Some(c) if c >= 0 && (c as usize) < classes => Ok(Some(c as usize)),
                Some(c) => Err(self.place.child(key).error(format!("class {c} is not between 0 and {}", classes - 1))),
            }
        };
        let label =
            class(spec.label, "label")?.ok_or_else(|| self.place.error("missing field `label` (the true class)"))?;
        let target_class = class(spec.target, "target")?;
        if target_class == Some(label) {
            return Err(self.place.child("target").error("the target class equals the label"));
        }
        // A radius that rounds to 0 in f32 would leave no ball and a PGD step of 0.
        let eps32 = epsilon as f32;
        if !(eps32.is_finite() && eps32 > 0.0) {
            let rounds = if epsilon > 0.0 && eps32 == 0.0 { ", which is 0 as a 32-bit number" } else { "" };
            return Err(self
                .place
                .child("epsilon")
                .error(format!("must be a positive, finite 32-bit number, got {:?}{rounds}", epsilon)));
        }
        let bounds = match &spec.bounds {
            None => {
                let images = data::ImageShape::of(&self.model.input_shape()).is_some();
                match data::implicit_bounds(x0.iter().copied(), images) {
                    data::ImplicitBounds::Unit => Some((0.0, 1.0)),
                    data::ImplicitBounds::Unbounded => None,
                    // Searched without a box at a radius meant for [0, 1].
                    data::ImplicitBounds::Pixels(largest) => {
                        return Err(self.place.child("bounds").error(format!(
                            "absent, and the input is whole numbers up to {largest}, as 8-bit pixels are: give the \
                             valid input range (`[0, 255]`, with an epsilon in those units), scale the input to \
                             [0, 1], or give null to search without a box"
                        )))
                    }
                }
            }
            Some(Value::Null) => None,
            Some(v) => Some(pair(v, &self.place.child("bounds"))?),
        };
        if let Some((lo, hi)) = bounds {
            // The samples as float32 holds them (an image of -0.1 lies in
            // [-0.1, 1.1]), the box searched rounded inward below.
            if let Some(i) = x0.iter().position(|v| *v < lo as f32 || *v > hi as f32) {
                return Err(self
                    .place
                    .child("bounds")
                    .error(format!("input element {i} = {} lies outside [{lo}, {hi}]", x0[i])));
            }
        }
        let eps = epsilon as f32;
        let (lo, hi) = bounds.and_then(|(lo, hi)| inward(lo, hi)).unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
        // The sample itself stays in its box: one on a bound float32
        // cannot hold (checked above to nearest) lies a step outside the
        // box rounded inward, and a ball smaller than that step would leave
        // it no point at all.
        let (lower, upper): (Vec<f32>, Vec<f32>) = x0
            .iter()
            .map(|&v| {
                let (l, u) = (lo.min(v), hi.max(v));
                match spec.norm {
                    Norm::Linf => (linf_lower(v, epsilon).max(l), linf_upper(v, epsilon).min(u)),
                    Norm::L2 => (l, u),
                }
            })
            .unzip();
        let feasible =
            FeasibleSet { lower, upper, ball: Some(Ball { center: x0.clone(), radius: eps, norm: spec.norm }) };
        let criterion = Criterion::Class { label, target: target_class };
        let parts = Parts { target, output, output_name, start: Start::Given(x0), feasible, criterion };
        Ok(self.goal(GoalKind::TargetClass, parts, spec.method))
    }

    fn reconstruction(&self, spec: ReconstructionSpec) -> Result<Goal> {
        let n = self.n();
        if self.model.graph.inputs.len() != 1 {
            self.single_input_shape(&self.place.child("latent"))?;
        }
        let (output, output_name) =
            self.output_tensor(spec.output_name.as_deref(), &self.place.child("output_name"))?;
        let out_shape = self.model.graph.value(output).shape.clone();
        let target = load_sample(&spec.target, &self.place.child("target"), self.dir, &out_shape)?;
        let lp = self.place.child("latent");
        let (lower, upper) = element_box(spec.latent.lower.as_ref(), spec.latent.upper.as_ref(), n, &lp)?;
        let feasible = FeasibleSet { lower, upper, ball: None };
        let start = start_point(spec.latent.start.as_ref(), &feasible, &lp.child("start"))?;
        if let Some(t) = spec.tolerance {
            if !(t.is_finite() && t >= 0.0) {
                return Err(self.place.child("tolerance").error(format!("must be a non-negative number, got {t}")));
            }
        }
        let criterion = Criterion::Reconstruction { target, tolerance: spec.tolerance };
        let parts = Parts { target: output, output, output_name, start, feasible, criterion };
        Ok(self.goal(GoalKind::Reconstruction, parts, spec.method))
    }

    fn output_bound(&self, spec: OutputBoundSpec) -> Result<Goal> {
        let op = self.place.child("output");
        let (name, index) = match &spec.output {
            Value::Number(_) => {
                (None, spec.output.as_u64().ok_or_else(|| op.error("expected a non-negative integer"))?)
            }
            Value::Object(m) => {
                if let Some(k) = m.keys().find(|k| *k != "name" && *k != "index") {
                    return Err(op.error(format!("unknown field `{k}`, expected `name` or `index`")));
                }
                let name = match m.get("name") {
                    None => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => {
                        return Err(op.child("name").error(format!("expected a string, found {}", kind_of(other))))
                    }
                };
                let index = m
                    .get("index")
                    .map_or(Some(0), Value::as_u64)
                    .ok_or_else(|| op.child("index").error("expected a non-negative integer"))?;
                (name, index)
            }
            other => {
                return Err(op.error(format!("expected an index or {{\"name\", \"index\"}}, found {}", kind_of(other))))
            }
        };
        let (output, output_name) = self.output_tensor(name.as_deref(), &op.child("name"))?;
        let size = self.model.graph.value(output).size();
        let index = usize::try_from(index)
            .ok()
            .filter(|&i| i < size)
            .ok_or_else(|| op.error(format!("index {index} outside output '{output_name}' of {size} values")))?;
        if let Some(b) = spec.bound {
            if !b.is_finite() {
                return Err(self.place.child("bound").error("must be a finite number"));
            }
        }
        let (feasible, start) = self.input_boxes(&spec)?;
        let criterion = Criterion::Bound { index, direction: spec.direction, bound: spec.bound };
        let parts = Parts { target: output, output, output_name, start, feasible, criterion };
        Ok(self.goal(GoalKind::OutputBound, parts, spec.method))
    }

    /// The per-element box and start over all model inputs.
    fn input_boxes(&self, spec: &OutputBoundSpec) -> Result<(FeasibleSet, Start)> {
        let g = &self.model.graph;
        let names: Vec<String> = g.inputs.iter().map(|&v| g.value(v).name.clone()).collect();
        let ip = self.place.child("inputs");
        let boxes: Vec<(BoxSpec, Place)> = match (&spec.input, &spec.inputs) {
            (Some(_), Some(_)) => return Err(self.place.error("give either `input` or `inputs`, not both")),
            (Some(b), None) => {
                self.single_input_shape(&self.place.child("input"))?;
                vec![(b.clone(), self.place.child("input"))]
            }
            (None, Some(map)) => {
                if let Some(k) = map.keys().find(|k| !names.contains(k)) {
                    return Err(ip.child(k).error(format!(
                        "the model has no input '{}' (inputs: {})",
                        clip(k),
                        names.join(", ")
                    )));
                }
                names
                    .iter()
                    .map(|n| {
                        map.get(n)
                            .cloned()
                            .map(|b| (b, ip.child(n)))
                            .ok_or_else(|| ip.error(format!("missing the box of input '{n}'")))
                    })
                    .collect::<Result<_>>()?
            }
            (None, None) => {
                return Err(self.place.error(format!(
                    "missing field `input` (or `inputs` for a model with inputs {})",
                    names.join(", ")
                )))
            }
        };
        let (mut lower, mut upper, mut start) = (Vec::new(), Vec::new(), Vec::new());
        // "random" draws the whole start: no other input may give its own.
        let mut random = false;
        let mut given: Option<&Place> = None;
        for ((spec, place), &v) in boxes.iter().zip(&g.inputs) {
            let shape = g.value(v).shape.clone();
            let n: usize = shape.iter().product();
            if let Some(value) = &spec.value {
                if spec.lower.is_some() || spec.upper.is_some() || spec.start.is_some() {
                    return Err(place.error("`value` fixes the input: give it without `lower`, `upper` or `start`"));
                }
                let x = load_sample(value, &place.child("value"), self.dir, &shape)?;
                lower.extend_from_slice(&x);
                upper.extend_from_slice(&x);
                start.extend_from_slice(&x);
                continue;
            }
            let (lo, hi) = element_box(spec.lower.as_ref(), spec.upper.as_ref(), n, place)?;
            let part = FeasibleSet { lower: lo.clone(), upper: hi.clone(), ball: None };
            match start_point(spec.start.as_ref(), &part, &place.child("start"))? {
                Start::Given(s) => {
                    if spec.start.is_some() {
                        given = Some(place);
                    }
                    start.extend(s)
                }
                Start::Random => {
                    random = true;
                    start.extend(vec![0.0; n]);
                }
            }
            lower.extend(lo);
            upper.extend(hi);
        }
        if let (true, Some(place)) = (random, given) {
            return Err(place
                .child("start")
                .error("another input starts at \"random\", which draws every input's start: give no start here"));
        }
        let feasible = FeasibleSet { lower, upper, ball: None };
        Ok((feasible, if random { Start::Random } else { Start::Given(start) }))
    }
}

/// The logits of a classifier output: the input of a final Softmax or
/// LogSoftmax, else the output itself.
fn logits_of(model: &ImportedModel, output: ValueId) -> ValueId {
    let g = &model.graph;
    match g.value(output).producer.map(|n| g.node(n)) {
        Some(node) if matches!(node.op, Op::Softmax(_) | Op::LogSoftmax(_)) => node.inputs[0],
        _ => output,
    }
}

/// `[lower, upper]` as written; [`inward`] rounds it to the box searched.
fn pair(v: &Value, place: &Place) -> Result<(f64, f64)> {
    match v.as_array().map(Vec::as_slice) {
        Some([a, b]) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) if !((a as f32).is_finite() && (b as f32).is_finite()) => {
                Err(place.error(format!("[{a}, {b}] is not a pair of finite 32-bit numbers")))
            }
            (Some(a), Some(b)) if a < b => match inward(a, b) {
                Some(_) => Ok((a, b)),
                None => Err(place.error(format!("no 32-bit number lies in [{a}, {b}]"))),
            },
            (Some(a), Some(b)) => Err(place.error(format!("lower {a} is not below upper {b}"))),
            _ => Err(place.error("expected two numbers [lower, upper]")),
        },
        _ => Err(place.error(format!("expected [lower, upper] or null, found {}", kind_of(v)))),
    }
}

/// A number for every element, or an array of `n`, as written.
fn per_element(v: Option<&Value>, n: usize, default: f64, place: &Place) -> Result<Vec<f64>> {
    match v {
        None | Some(Value::Null) => Ok(vec![default; n]),
        Some(v @ Value::Number(_)) => Ok(vec![inline_numbers_f64(v, place)?[0]; n]),
        Some(v @ Value::Array(_)) => {
            let values = inline_numbers_f64(v, place)?;
            if values.len() != n {
                return Err(place.error(format!("{} values given for an input of {n} elements", values.len())));
            }
            Ok(values)
        }
        Some(other) => Err(place.error(format!("expected a number or an array, found {}", kind_of(other)))),
    }
}

/// The box of `n` elements that `lower` and `upper` (under `place`) give,
/// each bound rounded inward to float32 ([`inward`]): every stored point
/// of the box lies in the box as written.
fn element_box(lower: Option<&Value>, upper: Option<&Value>, n: usize, place: &Place) -> Result<(Vec<f32>, Vec<f32>)> {
    let lo = per_element(lower, n, f64::NEG_INFINITY, &place.child("lower"))?;
    let hi = per_element(upper, n, f64::INFINITY, &place.child("upper"))?;
    lo.iter()
        .zip(&hi)
        .enumerate()
        .map(|(i, (&l, &u))| {
            if l > u {
                return Err(place.error(format!("element {i}: lower {l} is above upper {u}")));
            }
            inward(l, u).ok_or_else(|| place.error(format!("element {i}: no 32-bit number lies in [{l}, {u}]")))
        })
        .collect::<Result<Vec<_>>>()
        .map(|bounds| bounds.into_iter().unzip())
}

/// `[lower, upper]` in float32, rounded inward: the smallest float32 at or
/// above `lower` and the largest at or below `upper`. A fixed value (`lower
/// == upper`) that float32 cannot hold is its nearest float32, as any input
/// written is; `None` where no float32 lies in a wider interval.
fn inward(lower: f64, upper: f64) -> Option<(f32, f32)> {
    if lower == upper {
        return Some((lower as f32, upper as f32));
    }
    let (l, u) = (f32_at_least(lower), f32_at_most(upper));
    (l <= u).then_some((l, u))
}

/// The smallest float32 at or above `v` (exactly, not as rounded).
fn f32_at_least(v: f64) -> f32 {
    let b = v as f32;
    if f64::from(b) < v {
        b.next_up()
    } else {
        b
    }
}

/// The largest float32 at or below `v` (exactly).
fn f32_at_most(v: f64) -> f32 {
    let b = v as f32;
    if f64::from(b) > v {
        b.next_down()
    } else {
        b
    }
}

/// The start: a number, an array, `"zeros"`, `"random"`, or by default 0
/// clipped into the box.
fn start_point(v: Option<&Value>, set: &FeasibleSet, place: &Place) -> Result<Start> {
    let n = set.len();
    let mut x = match v {
        Some(Value::String(s)) if s == "random" => return Ok(Start::Random),
        Some(Value::String(s)) if s == "zeros" => vec![0.0; n],
        Some(Value::String(s)) => {
            return Err(
                place.error(format!("unknown start '{}' (a number, an array, \"zeros\" or \"random\")", clip(s)))
            )
        }
        other => per_element(other, n, 0.0, place)?.into_iter().map(|v| v as f32).collect(),
    };
    if v.is_some() {
        // The box is rounded inward, the start to nearest: a start on a
        // bound as written may lie one float32 step outside, and is
        // projected in below.
        let inside = |i: usize| (set.lower[i].next_down()..=set.upper[i].next_up()).contains(&x[i]);
        let outside = (0..n).find(|&i| !inside(i));
        if let Some(i) = outside {
            return Err(place
                .error(format!("element {i} = {} lies outside the box [{}, {}]", x[i], set.lower[i], set.upper[i])));
        }
    }
    set.project(&mut x);
    Ok(Start::Given(x))
}

impl Criterion {
    /// The value the plotted criterion must pass, named by the side that
    /// succeeds (the objective plot's threshold line).
    pub fn threshold(&self) -> Option<(f64, String)> {
        match self {
            Criterion::Class { .. } => Some((0.0, "success below 0".into())),
            Criterion::Reconstruction { tolerance, .. } => tolerance.map(|t| (t, format!("success at or below {t}"))),
            Criterion::Bound { direction, bound, .. } => bound.map(|b| {
                let side = if *direction == Direction::Maximize { "above" } else { "below" };
                (b, format!("success {side} {b}"))
            }),
            Criterion::Constraints { .. } => Some((0.0, "success at or below 0".into())),
        }
    }
}

impl Goal {
    /// What the objective plot shows of this goal, and whether that is the
    /// score (the margin of a class goal) rather than the objective.
    pub fn plotted_criterion(&self) -> (&'static str, bool) {
        match (self.kind, &self.criterion) {
            (GoalKind::TargetClass, Criterion::Class { target: Some(_), .. }) => {
                ("margin: largest other logit - target's", true)
            }
            (GoalKind::TargetClass, _) => ("margin: true logit - largest other", true),
            (GoalKind::Reconstruction, _) => ("mean squared error", false),
            (GoalKind::OutputBound, _) => ("output", false),
            (GoalKind::Property, _) => ("largest constraint margin", false),
        }
    }

    /// The objective an algorithm minimises for this goal: ADR uses the
    /// paper's normalised forms (section 5) when `normalised`, GD and PGD
    /// the raw ones.
    pub fn objective(&self, algorithm: Algorithm, normalised: bool) -> Objective {
        self.objective_with(algorithm, normalised, Loss::Ce, 0)
    }

    /// [`Goal::objective`] with `loss` on a classification goal of
    /// `classes` outputs (DLR needs three: with fewer it is the margin).
    pub fn objective_with(&self, algorithm: Algorithm, normalised: bool, loss: Loss, classes: usize) -> Objective {
        let adr = algorithm == Algorithm::Adr && normalised;
        match self.criterion {
            Criterion::Class { .. } => match loss {
                Loss::Ce => Objective::CrossEntropy { scaled: adr },
                Loss::Margin => Objective::Margin,
                Loss::Dlr if classes >= crate::objective::DLR_CLASSES => Objective::Dlr { targeted: false },
                Loss::Dlr => Objective::Margin,
            },
            Criterion::Reconstruction { .. } => Objective::SquaredError,
            Criterion::Bound { .. } => Objective::Linear { rows: 1, normalised: adr },
            Criterion::Constraints { rows, .. } => Objective::Linear { rows, normalised: adr },
        }
    }

    /// The objective's parameters for one sample: per graph input, the
    /// sample's slice (without the batch axis).
    pub fn objective_params(&self, m: usize) -> Vec<ndarray::ArrayD<f32>> {
        use ndarray::{ArrayD, IxDyn};
        match &self.criterion {
            Criterion::Class { label, target } => {
                let mut class = ArrayD::zeros(IxDyn(&[m]));
                let (c, sign) = match target {
                    Some(t) => (*t, 1.0),
                    None => (*label, -1.0),
                };
                class[c] = 1.0;
                vec![class, ArrayD::from_elem(IxDyn(&[]), sign)]
            }
            Criterion::Reconstruction { target, .. } => {
                vec![ArrayD::from_shape_vec(IxDyn(&[m]), target.clone()).expect("target size checked at load")]
            }
            Criterion::Bound { index, direction, .. } => {
                let mut a = ArrayD::zeros(IxDyn(&[1, m]));
                a[[0, *index]] = match direction {
                    Direction::Maximize => -1.0,
                    Direction::Minimize => 1.0,
                };
                vec![a, ArrayD::zeros(IxDyn(&[1]))]
            }
            Criterion::Constraints { a, b, rows } => vec![
                ArrayD::from_shape_vec(IxDyn(&[*rows, m]), a.clone()).expect("constraints sized at construction"),
                ArrayD::from_shape_vec(IxDyn(&[*rows]), b.clone()).expect("constraints sized at construction"),
            ],
        }
    }

    /// The parameters of [`Objective::Dlr`] `{ targeted: true }` for one
    /// sample toward class `toward`: an untargeted goal pits its label
    /// against `toward`; a targeted goal pits the best other class against
    /// its target (`toward` is ignored).
    pub fn targeted_dlr_params(&self, m: usize, toward: usize) -> Vec<ndarray::ArrayD<f32>> {
        use ndarray::{ArrayD, IxDyn};
        let mut class = ArrayD::zeros(IxDyn(&[m]));
        let mut target = ArrayD::zeros(IxDyn(&[m]));
        match &self.criterion {
            Criterion::Class { target: Some(t), .. } => target[*t] = 1.0,
            Criterion::Class { label, target: None } => {
                class[*label] = 1.0;
                target[toward.min(m - 1)] = 1.0;
            }
            _ => {}
        }
        vec![class, target]
    }

    /// Judges the TRUE network's output `y` (the objective tensor).
    ///
    /// An output with a NaN where the criterion reads it meets no goal
    /// ([`Assessment::UNUSABLE`]): a NaN logit has no class, a NaN bound or
    /// error no value (comparisons and `max` would otherwise skip it); nor
    /// does one with an infinity under linear constraints.
    pub fn assess(&self, y: &[f32]) -> Assessment {
        let unusable = match &self.criterion {
            Criterion::Bound { index, .. } => y.get(*index).is_some_and(|v| v.is_nan()),
            // A constraint's 0 times an infinity is a NaN that `max` skips.
            Criterion::Constraints { .. } => y.iter().any(|v| !v.is_finite()),
            _ => y.iter().any(|v| v.is_nan()),
        };
        if unusable {
            return Assessment::UNUSABLE;
        }
        match &self.criterion {
            Criterion::Class { label, target } => {
                let y: Vec<f64> = y.iter().map(|&v| f64::from(v)).collect();
                let top = argmax(&y);
                let max_other = |c: usize| {
                    y.iter().enumerate().filter(|(j, _)| *j != c).map(|(_, v)| *v).fold(f64::NEG_INFINITY, f64::max)
                };
                let (score, achieved) = match target {
                    Some(t) => (max_other(*t) - y[*t], top == *t),
                    None => (y[*label] - max_other(*label), top != *label),
                };
                Assessment { score, objective: cross_entropy(&y, *label), achieved }
            }
            Criterion::Reconstruction { target, tolerance } => {
                let mse =
                    y.iter().zip(target).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>() / y.len().max(1) as f64;
                Assessment { score: mse, objective: mse, achieved: tolerance.is_none_or(|t| mse <= t) }
            }
            Criterion::Bound { index, direction, bound } => {
                let v = f64::from(y[*index]);
                let (score, achieved) = match direction {
                    Direction::Maximize => (-v, bound.is_none_or(|b| v > b)),
                    Direction::Minimize => (v, bound.is_none_or(|b| v < b)),
                };
                Assessment { score, objective: v, achieved }
            }
            Criterion::Constraints { a, b, rows } => {
                let m = y.len();
                let margin = (0..*rows)
                    .map(|r| {
                        let row = &a[r * m..(r + 1) * m];
                        row.iter().zip(y).map(|(c, v)| f64::from(*c) * f64::from(*v)).sum::<f64>() + f64::from(b[r])
                    })
                    .fold(f64::NEG_INFINITY, f64::max);
                Assessment { score: margin, objective: margin, achieved: margin <= 0.0 }
            }
        }
    }

    /// Whether the criterion can be met early (one with a threshold).
    pub fn has_threshold(&self) -> bool {
        match &self.criterion {
            Criterion::Class { .. } => true,
            Criterion::Reconstruction { tolerance, .. } => tolerance.is_some(),
            Criterion::Bound { bound, .. } => bound.is_some(),
            Criterion::Constraints { .. } => true,
        }
    }

    /// The criterion in words, for reports.
    pub fn criterion_text(&self) -> String {
        match &self.criterion {
            Criterion::Class { label, target: Some(t) } => {
                format!("argmax of '{}' = {t} (label {label})", self.output_name)
            }
            Criterion::Class { label, target: None } => format!("argmax of '{}' != {label}", self.output_name),
            Criterion::Reconstruction { tolerance: Some(t), .. } => format!("mean squared error <= {t}"),
            Criterion::Reconstruction { tolerance: None, .. } => "none (lowest mean squared error)".into(),
            Criterion::Bound { index, direction, bound: Some(b) } => {
                let op = if *direction == Direction::Maximize { ">" } else { "<" };
                format!("{}[{index}] {op} {b}", self.output_name)
            }
            Criterion::Bound { index, direction, bound: None } => {
                format!(
                    "none ({} {}[{index}])",
                    if *direction == Direction::Maximize { "highest" } else { "lowest" },
                    self.output_name
                )
            }
            Criterion::Constraints { rows, .. } => format!("all {rows} output constraints hold (largest margin <= 0)"),
        }
    }
}

/// Index of the first largest value (0 for an empty slice).
pub fn argmax<T: PartialOrd + Copy>(y: &[T]) -> usize {
    // NaN is no class's value: the first number replaces it, and no number
    // compares above one.
    let is_nan = |v: &T| v.partial_cmp(v).is_none();
    let mut best = 0;
    for (i, v) in y.iter().enumerate() {
        if *v > y[best] || (is_nan(&y[best]) && !is_nan(v)) {
            best = i;
        }
    }
    best
}

/// Cross-entropy of class `c` under `softmax(y)`.
pub fn cross_entropy(y: &[f64], c: usize) -> f64 {
    let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + y.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    lse - y[c]
}

/// The smallest f32 at or above `v - eps` (exactly, not as rounded): every
/// stored input at or above it lies within the goal's `eps` of `v`.
fn linf_lower(v: f32, eps: f64) -> f32 {
    f32_at_least(f64::from(v) - eps)
}

/// The largest f32 at or below `v + eps` (exactly).
fn linf_upper(v: f32, eps: f64) -> f32 {
    f32_at_most(f64::from(v) + eps)
}

#[cfg(test)]
mod linf_box_tests {
    use super::*;

    #[test]
    fn the_box_holds_every_stored_input_within_epsilon() {
        for eps in [0.25, 0.1, 0.3, 8.0 / 255.0, 1e-3] {
            for i in 0..=255 {
                let v = i as f32 / 255.0;
                let (lo, hi) = (linf_lower(v, eps), linf_upper(v, eps));
                assert!(f64::from(v) - f64::from(lo) <= eps && f64::from(hi) - f64::from(v) <= eps, "{v} {eps}");
                // And as wide as f32 allows.
                assert!(f64::from(v) - f64::from(lo.next_down()) > eps, "{v} {eps}");
                assert!(f64::from(hi.next_up()) - f64::from(v) > eps, "{v} {eps}");
            }
        }
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;

    fn model() -> ImportedModel {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        crate::onnx::import_proto(Path::new("mlp.onnx"), &zoo.graph.model).unwrap()
    }

    const X0: [f32; 6] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];

    fn template<'m>(text: &str, model: &'m ImportedModel) -> Result<ClassTemplate<'m>> {
        ClassTemplate::new(Path::new("t.json"), &serde_json::from_str(text).unwrap(), model)
    }

    #[test]
    fn a_template_goal_is_the_goal_file_with_that_input() {
        let model = model();
        let t = template(r#"{"kind": "target_class", "epsilon": 0.1, "target": "all", "norm": "l2"}"#, &model).unwrap();
        let made = t.goal(X0.to_vec(), 0, Some(0.25), Some(2)).unwrap();
        let file = r#"{"kind": "target_class", "input": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "label": 0,
                       "epsilon": 0.25, "target": 2, "norm": "l2"}"#;
        let parsed = parse(Path::new("t.json"), file, &model).unwrap();
        assert_eq!(made.start, parsed.start);
        assert_eq!(made.feasible, parsed.feasible);
        assert_eq!(made.criterion, parsed.criterion);
        assert_eq!((made.kind, made.target, made.output), (parsed.kind, parsed.target, parsed.output));
        let at_template_radius = t.goal(X0.to_vec(), 0, None, None).unwrap();
        assert_eq!(at_template_radius.feasible.radius(), 0.1);
        assert_eq!(at_template_radius.criterion, Criterion::Class { label: 0, target: None });
    }

    #[test]
    fn template_errors_are_a_goal_file_s() {
        let model = model();
        let e = template(r#"{"kind": "target_class", "epsilon": "x"}"#, &model).unwrap_err().to_string();
        assert!(e.starts_with("t.json: at /epsilon: invalid type: string"), "{e}");
        let t = template(r#"{"kind": "target_class"}"#, &model).unwrap();
        let e = t.goal(X0.to_vec(), 0, None, None).unwrap_err().to_string();
        assert_eq!(e, "t.json: at /: missing field `epsilon`");
        let e = t.goal(vec![0.5; 5], 0, Some(0.1), None).unwrap_err().to_string();
        assert!(e.contains("at /input: 5 values given where the model needs 6"), "{e}");
        let file = parse(Path::new("g.json"), r#"{"kind": "target_class", "label": 0}"#, &model);
        assert_eq!(file.unwrap_err().to_string(), "g.json: at /: missing field `input`");
    }
}

#[cfg(test)]
mod finite_tests {
    use super::*;

    fn model() -> ImportedModel {
        let zoo = crate::zoo::all().into_iter().find(|z| z.name == "mlp_gemm").expect("the zoo has mlp_gemm");
        crate::onnx::import_proto(Path::new("mlp.onnx"), &zoo.graph.model).unwrap()
    }

    fn goal(text: &str) -> Result<Goal> {
        parse(Path::new("g.json"), text, &model())
    }

    #[test]
    fn a_nan_output_meets_no_goal_and_has_no_class() {
        let untargeted =
            goal(r#"{"kind": "target_class", "input": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], "label": 1, "epsilon": 0.1}"#)
                .unwrap();
        // The NaN at index 0 was the "top" class, so label 1 counted as flipped.
        let a = untargeted.assess(&[f32::NAN, 1.0, 0.5]);
        assert!(!a.achieved && a.score.is_nan(), "{a:?}");
        assert_eq!(argmax(&[f32::NAN, 1.0, 0.5]), 1);
        assert_eq!(argmax(&[0.2, f32::NAN, 0.5]), 2);
        assert_eq!(argmax(&[f32::NAN, f32::NAN]), 0);
        let unbounded = goal(r#"{"kind": "output_bound", "output": 0, "direction": "maximize", "input": {}}"#).unwrap();
        assert!(!unbounded.assess(&[f32::NAN, 1.0]).achieved);
        // An infinity is a value: beyond every bound.
        assert!(unbounded.assess(&[f32::INFINITY, 1.0]).achieved);
        // Under constraints (y_1 <= 0 and -y_0 <= 0), 0 times an infinite
        // y_0 made row 0 a NaN that `max` skipped: y_1 = 5 was achieved.
        let constraints = Goal {
            criterion: Criterion::Constraints { a: vec![0.0, 1.0, -1.0, 0.0], b: vec![0.0, 0.0], rows: 2 },
            ..unbounded
        };
        assert!(constraints.assess(&[1.0, -1.0]).achieved);
        assert!(!constraints.assess(&[1.0, 5.0]).achieved);
        assert!(!constraints.assess(&[f32::INFINITY, 5.0]).achieved);
    }

    #[test]
    fn boxes_are_rounded_inward_to_float32() {
        let g = goal(
            r#"{"kind": "output_bound", "output": 0, "direction": "maximize",
                "input": {"lower": [0.45, -0.1, 0.1, 0, -1, -1], "upper": [0.5, 1.1, 0.1, 1, -0.45, 1]}}"#,
        )
        .unwrap();
        let (lo, hi) = (&g.feasible.lower, &g.feasible.upper);
        let written = [(0.45, 0.5), (-0.1, 1.1), (0.1, 0.1), (0.0, 1.0), (-1.0, -0.45), (-1.0, 1.0)];
        for (i, &(l, u)) in written.iter().enumerate().filter(|(i, _)| *i != 2) {
            assert!(f64::from(lo[i]) >= l && f64::from(hi[i]) <= u, "element {i}: [{}, {}]", lo[i], hi[i]);
            // As wide as float32 allows.
            assert!(f64::from(lo[i].next_down()) < l && f64::from(hi[i].next_up()) > u, "element {i}");
        }
        // A fixed value float32 cannot hold is its nearest float32.
        assert_eq!((lo[2], hi[2]), (0.1, 0.1));
        let e = goal(
            r#"{"kind": "output_bound", "output": 0, "direction": "maximize",
                         "input": {"lower": 0.1, "upper": 0.10000000001}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("at /input: element 0: no 32-bit number lies in [0.1, 0.10000000001]"), "{e}");
        // A start on a bound as written is taken, inside the box.
        let g = goal(
            r#"{"kind": "output_bound", "output": 0, "direction": "maximize",
                "input": {"lower": 0.45, "upper": 0.5, "start": 0.45}}"#,
        )
        .unwrap();
        let Start::Given(x) = &g.start else { panic!("a given start") };
        assert!(x.iter().all(|&v| f64::from(v) >= 0.45), "{x:?}");
    }

    #[test]
    fn a_class_goals_bounds_are_rounded_inward_and_its_sample_kept() {
        let g = goal(
            r#"{"kind": "target_class", "input": [-0.1, 0.2, 0.3, 0.4, 0.5, 1.1], "label": 1, "epsilon": 0.5,
                "bounds": [-0.1, 1.1]}"#,
        )
        .unwrap();
        // Inward, but for the samples on the bounds themselves.
        assert!(g.feasible.lower[1..].iter().all(|&v| f64::from(v) >= -0.1), "{:?}", g.feasible.lower);
        assert!(g.feasible.upper[..5].iter().all(|&v| f64::from(v) <= 1.1), "{:?}", g.feasible.upper);
        // The sample on a bound float32 cannot hold stays in its box, even
        // with a ball smaller than a float32 step (`clamp` panicked).
        let Start::Given(x) = &g.start else { panic!("a given start") };
        assert_eq!(x[0], -0.1f32);
        assert!(g.feasible.lower[0] <= -0.1f32);
        let tiny = goal(
            r#"{"kind": "target_class", "input": [-0.1, 0.2, 0.3, 0.4, 0.5, 1.1], "label": 1, "epsilon": 1e-9,
                "bounds": [-0.1, 1.1]}"#,
        )
        .unwrap();
        for (i, &v) in [-0.1f32, 0.2, 0.3, 0.4, 0.5, 1.1].iter().enumerate() {
            assert!(tiny.feasible.lower[i] <= v && v <= tiny.feasible.upper[i], "element {i}");
        }
    }
}
