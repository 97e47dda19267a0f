//! Structure-aware mutations for the fuzz targets of tests/fuzz.rs: each
//! takes a valid input (an ONNX model, goal JSON, VNN-LIB text, a `.npy`
//! header) and a list of random words, one word per mutation, and returns
//! the mutated file's bytes. The words decide everything, so that proptest
//! shrinks a failure to fewer and smaller mutations.
//!
//! Sizes stay small unless `ADR_FUZZ_HUGE=1`: dimensions, pads and sample
//! counts of 1e10 and beyond make the importer and the `.npy` reader
//! allocate without bound until another branch caps them (see
//! docs/limits.md, "Fuzzing").

use prost::Message;
use serde_json::{json, Value};
use tract_onnx::pb::{attribute_proto, tensor_shape_proto::dimension, ModelProto, TensorProto};

/// Draws choices from one random word.
pub struct Dice(u64);

impl Dice {
    pub fn new(word: u64) -> Self {
        Dice(word)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let r = (self.0 % n as u64) as usize;
        self.0 /= n as u64;
        r
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Whether the huge sizes are on (`ADR_FUZZ_HUGE=1`).
pub fn huge() -> bool {
    std::env::var("ADR_FUZZ_HUGE").is_ok_and(|v| v == "1")
}

/// Integers for dimensions, attributes and indices: the edges that break
/// arithmetic, and (with [`huge`]) the sizes that break memory.
pub fn edge_int(d: &mut Dice) -> i64 {
    const SMALL: &[i64] = &[0, 1, -1, 2, 3, 5, 7, 16, 100, -2, -100];
    const HUGE: &[i64] = &[
        100_000,
        10_000_000_000,
        1_000_000_000_000,
        1 << 40,
        (1 << 62) + 1,
        i64::MAX,
        i64::MIN,
        i32::MAX as i64,
        u32::MAX as i64,
    ];
    if huge() && d.chance(3) {
        *d.pick(HUGE)
    } else {
        *d.pick(SMALL)
    }
}

pub fn edge_f32(d: &mut Dice) -> f32 {
    *d.pick(&[
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MAX,
        f32::MIN_POSITIVE,
        1e-45,
        -1e30,
    ])
}

/// Byte-level damage: flips, truncation, insertion, duplication.
pub fn bytes(mut v: Vec<u8>, words: &[u64]) -> Vec<u8> {
    for &w in words {
        let mut d = Dice::new(w);
        let at = d.below(v.len() + 1);
        match d.below(5) {
            0 if at < v.len() => v[at] ^= 1 << d.below(8),
            1 => v.truncate(at),
            2 => {
                let b = d.below(256) as u8;
                v.insert(at, b);
            }
            3 if at < v.len() => {
                let end = (at + 1 + d.below(16)).min(v.len());
                let chunk = v[at..end].to_vec();
                v.splice(at..at, chunk);
            }
            _ if at < v.len() => v[at] = *d.pick(&[0, 0xff, 0x7f, 0x80, b'0', b'(', b')', b'{', b'"', b'\n']),
            _ => {}
        }
    }
    v
}

// ---- ONNX ----

const OP_TYPES: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Clip",
    "Max",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Conv",
    "ConvTranspose",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Sum",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Concat",
    "Pad",
    "Identity",
    "Dropout",
    "Cast",
    "Gemm",
    "MatMul",
    "BatchNormalization",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Constant",
    "Shape",
    "Gather",
    "Slice",
    "ArgMax",
    "NoSuchOp",
    "",
];

const ATTR_NAMES: &[&str] = &[
    "pads",
    "strides",
    "kernel_shape",
    "dilations",
    "group",
    "axis",
    "axes",
    "perm",
    "transA",
    "transB",
    "alpha",
    "beta",
    "epsilon",
    "auto_pad",
    "ceil_mode",
    "count_include_pad",
    "output_padding",
    "output_shape",
    "mode",
    "to",
    "value",
    "min",
    "max",
    "allowzero",
];

/// A mutated copy of `model`, encoded.
pub fn onnx(model: &ModelProto, words: &[u64], byte_words: &[u64]) -> Vec<u8> {
    let mut m = model.clone();
    for &w in words {
        mutate_model(&mut m, &mut Dice::new(w));
    }
    bytes(m.encode_to_vec(), byte_words)
}

fn names(m: &ModelProto) -> Vec<String> {
    let Some(g) = &m.graph else { return vec!["x".into()] };
    let mut v: Vec<String> = g.input.iter().map(|i| i.name.clone()).collect();
    v.extend(g.initializer.iter().map(|t| t.name.clone()));
    v.extend(g.node.iter().flat_map(|n| n.output.iter().cloned()));
    v.push(String::new());
    v.push("nowhere".into());
    v
}

fn mutate_model(m: &mut ModelProto, d: &mut Dice) {
    let all = names(m);
    let kind = d.below(16);
    match kind {
        0 => {
            let version = *d.pick(&[-1, 0, 1, 6, 7, 9, 11, 13, 17, 21, 22, 99]);
            match m.opset_import.first_mut() {
                Some(o) if !d.chance(4) => o.version = version,
                Some(o) => o.domain = d.pick(&["ai.onnx.ml", "com.microsoft", "ai.onnx"]).to_string(),
                None => {}
            }
        }
        1 => m.ir_version = edge_int(d),
        _ => {}
    }
    let Some(g) = m.graph.as_mut() else { return };
    let nodes = g.node.len();
    match kind {
        2 if nodes > 0 => g.node[d.below(nodes)].op_type = d.pick(OP_TYPES).to_string(),
        3 if nodes > 0 => {
            let n = &mut g.node[d.below(nodes)];
            match d.below(4) {
                0 => n.input.push(d.pick(&all).clone()),
                1 => drop(n.input.pop()),
                _ if !n.input.is_empty() => {
                    let i = d.below(n.input.len());
                    n.input[i] = d.pick(&all).clone();
                }
                _ => {}
            }
        }
        4 if nodes > 0 => {
            let n = &mut g.node[d.below(nodes)];
            match d.below(3) {
                0 => n.output.push(d.pick(&all).clone()),
                1 => drop(n.output.pop()),
                _ if !n.output.is_empty() => {
                    let i = d.below(n.output.len());
                    n.output[i] = d.pick(&all).clone();
                }
                _ => {}
            }
        }
        5 if nodes > 0 => drop(g.node.remove(d.below(nodes))),
        6 if nodes > 0 => {
            let n = g.node[d.below(nodes)].clone();
            g.node.insert(d.below(nodes + 1), n);
        }
        7 if nodes > 1 => {
            let (a, b) = (d.below(nodes), d.below(nodes));
            g.node.swap(a, b);
        }
        8 | 9 if nodes > 0 => mutate_attribute(&mut g.node[d.below(nodes)], d),
        10 | 11 if !g.initializer.is_empty() => {
            let i = d.below(g.initializer.len());
            mutate_tensor(&mut g.initializer[i], d, &all);
        }
        12 if !g.input.is_empty() => {
            let i = d.below(g.input.len());
            match d.below(4) {
                0 => {
                    let dup = g.input[i].clone();
                    g.input.push(dup);
                }
                1 => drop(g.input.remove(i)),
                _ => mutate_value_info(&mut g.input[i], d),
            }
        }
        13 if !g.output.is_empty() => {
            let i = d.below(g.output.len());
            match d.below(4) {
                0 => {
                    let dup = g.output[i].clone();
                    g.output.push(dup);
                }
                1 => drop(g.output.remove(i)),
                2 => g.output[i].name = d.pick(&all).clone(),
                _ => mutate_value_info(&mut g.output[i], d),
            }
        }
        14 => {
            // A node output that is also an initializer or a graph input.
            if let (Some(t), false) = (g.initializer.first_mut(), all.is_empty()) {
                t.name = d.pick(&all).clone();
            }
        }
        15 => {
            // Long names, which errors must clip.
            let long = "n".repeat(*d.pick(&[0, 1, 300, 5000]));
            match d.below(4) {
                0 if nodes > 0 => g.node[d.below(nodes)].name = long,
                1 if !g.initializer.is_empty() => {
                    let i = d.below(g.initializer.len());
                    g.initializer[i].name = long;
                }
                2 if !g.input.is_empty() => g.input[0].name = long,
                _ if nodes > 0 => g.node[d.below(nodes)].op_type = long,
                _ => {}
            }
        }
        _ => {}
    }
}

fn mutate_attribute(n: &mut tract_onnx::pb::NodeProto, d: &mut Dice) {
    use attribute_proto::AttributeType;
    if n.attribute.is_empty() || d.chance(3) {
        n.attribute.push(tract_onnx::pb::AttributeProto {
            name: d.pick(ATTR_NAMES).to_string(),
            r#type: AttributeType::Ints as i32,
            ints: vec![1, 1],
            ..Default::default()
        });
    }
    let i = d.below(n.attribute.len());
    let a = &mut n.attribute[i];
    match d.below(8) {
        0 => drop(n.attribute.remove(i)),
        1 => {
            let len = d.below(6);
            a.r#type = AttributeType::Ints as i32;
            a.ints = (0..len).map(|_| edge_int(d)).collect();
        }
        2 if !a.ints.is_empty() => {
            let k = d.below(a.ints.len());
            a.ints[k] = edge_int(d);
        }
        3 => {
            a.r#type = AttributeType::Int as i32;
            a.i = edge_int(d);
        }
        4 => {
            a.r#type = AttributeType::Float as i32;
            a.f = edge_f32(d);
        }
        5 => {
            a.r#type = AttributeType::String as i32;
            a.s =
                d.pick(&["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "", "constant", "reflect"]).as_bytes().to_vec();
        }
        6 => a.r#type = d.below(16) as i32,
        _ => a.name = d.pick(ATTR_NAMES).to_string(),
    }
}

fn mutate_tensor(t: &mut TensorProto, d: &mut Dice, names: &[String]) {
    match d.below(9) {
        0 if !t.dims.is_empty() => {
            let k = d.below(t.dims.len());
            t.dims[k] = edge_int(d);
        }
        1 => t.dims.push(edge_int(d).clamp(-1, 4)),
        2 => drop(t.dims.pop()),
        3 => {
            let keep = d.below(t.raw_data.len() + 1);
            t.raw_data.truncate(keep);
        }
        4 if t.raw_data.len() >= 4 => {
            let at = d.below(t.raw_data.len() / 4) * 4;
            let bytes = if t.data_type == 7 { (edge_int(d) as i32).to_le_bytes() } else { edge_f32(d).to_le_bytes() };
            t.raw_data[at..at + 4].copy_from_slice(&bytes);
        }
        5 => t.data_type = d.below(18) as i32,
        6 => {
            // The values as float_data instead of raw bytes.
            t.float_data = t.raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            t.raw_data.clear();
        }
        7 => {
            t.data_location = Some(1);
            t.external_data = vec![tract_onnx::pb::StringStringEntryProto {
                key: "location".into(),
                value: d.pick(&["w.bin", "../w.bin", "/etc/passwd", "", "."]).to_string(),
            }];
        }
        _ => t.name = d.pick(names).clone(),
    }
}

fn mutate_value_info(v: &mut tract_onnx::pb::ValueInfoProto, d: &mut Dice) {
    use tract_onnx::pb::type_proto;
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_mut().and_then(|t| t.value.as_mut()) else {
        v.r#type = None;
        return;
    };
    match d.below(5) {
        0 => t.elem_type = d.below(18) as i32,
        1 => t.shape = None,
        _ => {
            let Some(shape) = t.shape.as_mut() else { return };
            let dims = &mut shape.dim;
            match d.below(4) {
                0 => dims.push(Default::default()),
                1 => drop(dims.pop()),
                _ if !dims.is_empty() => {
                    let k = d.below(dims.len());
                    dims[k].value = match d.below(3) {
                        0 => Some(dimension::Value::DimParam(d.pick(&["N", "batch", ""]).to_string())),
                        1 => None,
                        _ => Some(dimension::Value::DimValue(edge_int(d))),
                    };
                }
                _ => {}
            }
        }
    }
}

// ---- goal JSON ----

/// Valid goals for the fuzz fixture folder (`digit.png`, `images.npy`,
/// `targets.npy`), for the MNIST CNN, the small random network and the zoo
/// generator.
pub fn goal_seeds() -> Vec<Value> {
    vec![
        json!({"kind": "output_bound", "output": 0, "direction": "maximize", "bound": 50.0,
               "input": {"lower": -1.0, "upper": 1.0, "start": 0.0}}),
        json!({"kind": "output_bound", "output": 0, "direction": "minimize",
               "input": {"lower": [-1.0, -1.0], "upper": 1.0, "start": "random"}}),
        json!({"kind": "target_class", "input": "digit.png", "label": 7, "target": 3, "epsilon": 0.25,
               "norm": "linf", "bounds": [0.0, 1.0], "output_name": "logits",
               "method": {"algorithm": "pgd", "iterations": 10, "lr": 0.1, "alpha": 2.0, "loss": "margin"}}),
        json!({"kind": "target_class", "input": {"npy": "images.npy", "index": 12}, "label": 9, "epsilon": 0.1,
               "norm": "l2"}),
        json!({"kind": "target_class", "input": {"png": "digit.png"}, "epsilon": 0.3, "bounds": null}),
        json!({"kind": "reconstruction", "target": {"npy": "targets.npy", "index": 0},
               "latent": {"lower": -3.0, "upper": 3.0, "start": 0.0}, "tolerance": 0.01}),
        json!({"kind": "reconstruction", "target": vec![vec![vec![0.5; 12]; 12]], "latent": {"start": "zeros"}}),
    ]
}

const GOAL_KEYS: &[&str] = &[
    "kind",
    "input",
    "label",
    "target",
    "epsilon",
    "norm",
    "bounds",
    "output_name",
    "method",
    "output",
    "direction",
    "bound",
    "latent",
    "lower",
    "upper",
    "start",
    "tolerance",
    "npy",
    "index",
    "png",
    "algorithm",
    "iterations",
    "restarts",
    "seed",
    "lr",
    "alpha",
    "loss",
    "preset",
    "apgd_targets",
    "square_queries",
    "x_step",
    "normalisers",
    "unknown_key",
];

fn edge_json(d: &mut Dice) -> Value {
    match d.below(6) {
        0 => json!(*d.pick(&[
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            5e-324,
            1e-45,
            1e308,
            -1e308,
            3.4028236e38,
            1e39,
            9007199254740993.0,
            7.5
        ])),
        1 => json!(*d.pick(&[0i64, 1, -1, 7, 9, 783, 784, 1_000_000_000_000, i64::MAX, i64::MIN])),
        2 => json!(*d.pick(&[u64::MAX, 18446744073709551615u64])),
        3 => json!(d.pick(&[
            "",
            "linf",
            "l2",
            "pgd",
            "adr",
            "apgd-t",
            "auto",
            "random",
            "zeros",
            "maximize",
            "target_class",
            "reconstruction",
            "output_bound",
            "digit.png",
            "images.npy",
            "targets.npy",
            "missing.npy",
            "/dev/null",
            ".",
            "é\u{0}",
        ])),
        4 => match d.below(6) {
            0 => Value::Null,
            1 => json!(true),
            2 => json!([]),
            3 => json!({}),
            4 => json!("k".repeat(5000)),
            _ => json!([[0.5, 0.5], [0.5]]),
        },
        _ => match d.below(3) {
            0 => json!({"npy": "images.npy", "index": edge_int(d)}),
            1 => json!({"png": "digit.png"}),
            _ => json!(vec![0.5; 784]),
        },
    }
}

/// Every place in `v` (JSON pointers).
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate().take(4) {
                pointers(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// A mutated goal: values replaced, keys added or removed, a key
/// repeated, then byte damage.
pub fn goal(seed: &Value, words: &[u64], byte_words: &[u64]) -> Vec<u8> {
    let mut v = seed.clone();
    let mut repeat = None;
    for &w in words {
        let d = &mut Dice::new(w);
        let mut places = Vec::new();
        pointers(&v, String::new(), &mut places);
        let place = d.pick(&places).clone();
        let Some(target) = v.pointer_mut(&place) else { continue };
        match d.below(5) {
            0 | 1 => *target = edge_json(d),
            2 => {
                if let Value::Object(m) = target {
                    m.insert(d.pick(GOAL_KEYS).to_string(), edge_json(d));
                }
            }
            3 => {
                if let Value::Object(m) = target {
                    let keys: Vec<String> = m.keys().cloned().collect();
                    if !keys.is_empty() {
                        m.remove(d.pick(&keys));
                    }
                }
            }
            _ => repeat = Some(d.pick(GOAL_KEYS).to_string()),
        }
    }
    let mut text = serde_json::to_string_pretty(&v).unwrap_or_default();
    if let (Some(key), Some(open)) = (repeat, text.find('{')) {
        text.insert_str(open + 1, &format!("\"{key}\": 1, "));
    }
    bytes(text.into_bytes(), byte_words)
}

// ---- VNN-LIB ----

/// Numbers a property may hold: at the edges of float32 and float64.
const NUMBERS: &[&str] = &[
    "0",
    "0.0",
    "-0.0",
    "0.3",
    "-1",
    "1",
    "0.5",
    "-0.5",
    "2",
    "1e308",
    "-1e308",
    "1.4e-45",
    "1e-400",
    "0.29999998",
    "0.30000002",
    "0.1000000001",
    "0.1000000009",
    "3.4028235e38",
    "3.4028236e38",
    "340282356779733661637539395458142568448",
    "0.000000000000000000000000000000000000000000001401298464324817",
];

/// Tokens that are not numbers, or not ones the parser takes.
const BAD_NUMBERS: &[&str] =
    &["1e309", ".5", "5.", "1e", "+1", "-", "0x10", "#x10", "1/3", "nan", "inf", "(- 1)", "(- 0.5)", "(/ 1 3)"];

/// A number, now and then a bad one.
fn number(d: &mut Dice) -> &'static str {
    if d.chance(12) {
        d.pick::<&str>(BAD_NUMBERS)
    } else {
        d.pick::<&str>(NUMBERS)
    }
}

/// A property generated from the words: inputs and outputs, declarations,
/// input boxes and output constraints in nested `and`/`or`.
pub fn vnnlib_generated(words: &[u64]) -> String {
    let mut it = words.iter().copied().chain(std::iter::repeat(0x9e37_79b9_7f4a_7c15));
    let mut d = Dice::new(it.next().unwrap_or(0));
    let (n, m) = (1 + d.below(3), 1 + d.below(3));
    let mut s = String::new();
    for i in 0..n {
        s += &format!("(declare-const X_{i} Real)\n");
    }
    for j in 0..m {
        s += &format!("(declare-const Y_{j} Real)\n");
    }
    let mut d = Dice::new(it.next().unwrap_or(0));
    for i in 0..n {
        let (lo, hi) = (number(&mut d), number(&mut d));
        let ge = if d.chance(8) { d.pick(&["<=", "="]) } else { d.pick(&[">=", ">"]) };
        let le = if d.chance(8) { ">=" } else { d.pick(&["<=", "<"]) };
        s += &format!("(assert ({ge} X_{i} {lo}))\n(assert ({le} X_{i} {hi}))\n");
    }
    let clauses = words.len().clamp(1, 6);
    let mut out = Vec::new();
    for _ in 0..clauses {
        let mut d = Dice::new(it.next().unwrap_or(0));
        let j = d.below(m);
        let k = d.below(m);
        let rel = d.pick(&["<=", ">=", "<", ">", "="]);
        let lhs = match d.below(7) {
            0 | 1 => format!("Y_{j}"),
            2 | 3 => format!("(- Y_{j} Y_{k})"),
            4 => format!("(+ (* {} Y_{j}) Y_{k})", number(&mut d)),
            5 => format!("(* (- {}) Y_{j} Y_{k})", number(&mut d)),
            _ => format!("X_{}", d.below(n + 1)),
        };
        out.push(format!("({rel} {lhs} {})", number(&mut d)));
    }
    let mut d = Dice::new(it.next().unwrap_or(0));
    let body = match d.below(3) {
        0 => out.join(" "),
        1 => format!("(or {})", out.iter().map(|c| format!("(and {c})")).collect::<Vec<_>>().join(" ")),
        _ => format!("(and {} (or {}))", out[0], out[1..].join(" ")),
    };
    s += &format!("(assert {body})\n");
    s
}

/// Seed properties, damaged at the token level.
pub fn vnnlib_mutated(seed: &str, words: &[u64]) -> Vec<u8> {
    let mut tokens: Vec<String> =
        seed.replace('(', " ( ").replace(')', " ) ").split_whitespace().map(String::from).collect();
    for &w in words {
        let d = &mut Dice::new(w);
        let at = d.below(tokens.len() + 1);
        let token = match d.below(6) {
            0 => number(d).to_string(),
            1 => d.pick(&["(", ")", ";", "assert", "declare-const", "and", "or", "Real", "Int"]).to_string(),
            2 => {
                format!("{}_{}", d.pick(&["X", "Y", "Z"]), d.pick(&["0", "1", "01", "-1", "99999999999999999999", ""]))
            }
            3 => d.pick(&[">=", "<=", "<", ">", "=", "+", "-", "*", "/", "not", "=>", "ite"]).to_string(),
            4 => "(".repeat(d.pick(&[1, 50, 200]).to_owned()),
            _ => "9".repeat(d.pick(&[1, 400, 5000]).to_owned()),
        };
        match d.below(3) {
            0 if at < tokens.len() => drop(tokens.remove(at)),
            1 if at < tokens.len() => tokens[at] = token,
            _ => tokens.insert(at, token),
        }
    }
    tokens.join(" ").into_bytes()
}

// ---- .npy ----

/// A `.npy` file from the words: version, element type, order, shape,
/// data length and the header's spelling.
pub fn npy(words: &[u64]) -> Vec<u8> {
    let mut it = words.iter().copied().chain(std::iter::repeat(0x2545_f491_4f6c_dd1d));
    let d = &mut Dice::new(it.next().unwrap_or(0));
    let descr: &str = if d.chance(4) {
        d.pick::<&str>(&[">f4", ">i8", "<f2", "|b1", "<c8", "|O", "<U3", "|V4", "f4", "<i2", "<u8", "|i1", "<f16"])
    } else {
        d.pick::<&str>(&["<f4", "<f8", "<i8", "<i4", "|u1"])
    };
    let fortran = if d.chance(6) { *d.pick(&["0", "'no'", "None"]) } else { *d.pick(&["False", "True"]) };
    let rank = d.below(5);
    let d = &mut Dice::new(it.next().unwrap_or(0));
    let dims: Vec<u64> = (0..rank)
        .map(|_| {
            if huge() && d.chance(4) {
                *d.pick(&[1_000_000_000_000u64, 1 << 40, (1 << 62) + 1, u64::MAX])
            } else {
                *d.pick(&[0u64, 1, 2, 3, 5, 28])
            }
        })
        .collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
    };
    let d = &mut Dice::new(it.next().unwrap_or(0));
    let size: usize = match descr.trim_start_matches(['<', '>', '|']) {
        "f8" | "i8" | "u8" | "c8" => 8,
        "f4" | "i4" | "V4" => 4,
        "f2" | "i2" => 2,
        "U3" => 12,
        "f16" => 16,
        _ => 1,
    };
    let count = dims.iter().try_fold(1u64, |n, &k| n.checked_mul(k)).unwrap_or(u64::MAX);
    let exact = usize::try_from(count).ok().and_then(|c| c.checked_mul(size)).unwrap_or(usize::MAX).min(1 << 16);
    let len = match d.below(8) {
        0 => exact.saturating_sub(1 + d.below(8)),
        1 => exact + d.below(8),
        2 => d.below(64),
        _ => exact,
    };
    let data: Vec<u8> = (0..len).map(|i| [0x00, 0x3f, 0x80, 0x7f, 0xff][(i + d.below(2)) % 5]).collect();
    let mut dict = match d.below(10) {
        0 => format!("{{'fortran_order': {fortran}, 'shape': {shape}, 'descr': '{descr}'}}"),
        1 => format!("{{'descr': '{descr}', 'shape': {shape}}}"),
        2 => format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, 'extra': 1, }}"),
        3 => format!("{{\"descr\": \"{descr}\", \"fortran_order\": {fortran}, \"shape\": {shape}}}"),
        _ => format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"),
    };
    let version = if d.chance(8) { *d.pick(&[0u8, 9]) } else { *d.pick(&[1u8, 1, 1, 2, 3]) };
    let mut out = vec![0x93];
    out.extend_from_slice(b"NUMPY");
    out.extend_from_slice(&[version, 0]);
    let wide = version >= 2;
    let prefix = if wide { 12 } else { 10 };
    while !(prefix + dict.len() + 1).is_multiple_of(64) {
        dict.push(' ');
    }
    dict.push('\n');
    let mut header_len = dict.len() as u64;
    if d.chance(16) {
        header_len = *d.pick(&[0, 1, 0xffff, 0xffff_ffff]);
    }
    if wide {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.extend_from_slice(&data);
    let rest: Vec<u64> = it.take(words.len().saturating_sub(4)).collect();
    bytes(out, &rest)
}
