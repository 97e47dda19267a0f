//! Import correctness: the lowered IR graph, run by tract, reproduces
//! tract's own run of the original model on every fixture and zoo model,
//! and the ReLU neuron counts agree with an independent count.

mod common;

use std::path::{Path, PathBuf};

use adr_onnx::lower::forward_graph;
use adr_onnx::onnx::{import, import_proto, ImportedModel};
use adr_onnx::runtime::{tract::TractBackend, Backend, HostTensor};
use adr_onnx::writer::Precision;
use ndarray::{ArrayD, Axis, IxDyn};
use rand::{Rng, SeedableRng};
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;

use common::fixtures;

fn fixture_models() -> Vec<PathBuf> {
    let f = fixtures();
    let mut v: Vec<PathBuf> = ["models", "vnncomp/test", "vnncomp/acasxu"]
        .iter()
        .flat_map(|d| std::fs::read_dir(f.join(d)).expect("fixture folder").map(|e| e.expect("entry").path()))
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    v.extend(["skl_mlp_classifier.onnx", "skl_mlp_regressor.onnx"].iter().map(|f| testdata.join(f)));
    v.sort();
    v
}

/// Random inputs in [-1, 1] shaped for the original model's view of a batch.
fn random_inputs(m: &ImportedModel, batch: usize, seed: u64) -> Vec<ArrayD<f32>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    m.graph
        .inputs
        .iter()
        .map(|&v| {
            let shape = m.graph.value(v).batched(batch);
            let n = shape.iter().product();
            ArrayD::from_shape_vec(IxDyn(&shape), (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()).unwrap()
        })
        .collect()
}

/// tract's run of the original model, one sample at a time when the model
/// has a fixed batch or no batch axis.
fn tract_original(proto: &ModelProto, m: &ImportedModel, inputs: &[ArrayD<f32>]) -> Vec<ArrayD<f32>> {
    let batch = inputs[0].shape()[0];
    let per_call = if m.batched && m.import_batch == batch { batch } else { 1 };
    let mut model = tract_onnx::onnx().model_for_proto_model(proto).unwrap();
    for (i, x) in inputs.iter().enumerate() {
        let mut shape = x.shape().to_vec();
        shape[0] = per_call;
        if !m.batched {
            shape.remove(0);
        }
        model = model.with_input_fact(i, f32::fact(&shape).into()).unwrap();
    }
    let plan = model.into_optimized().unwrap().into_runnable().unwrap();
    let mut outs: Vec<Vec<ArrayD<f32>>> = Vec::new();
    for start in (0..batch).step_by(per_call) {
        let vals: TVec<TValue> = inputs
            .iter()
            .map(|x| {
                let mut part = x.slice_axis(Axis(0), (start..start + per_call).into()).to_owned();
                if !m.batched {
                    part = part.index_axis_move(Axis(0), 0);
                }
                Tensor::from(part).into_tvalue()
            })
            .collect();
        let res = plan.run(vals).unwrap();
        for (k, r) in res.into_iter().enumerate() {
            let a = r.into_tensor().cast_to::<f32>().unwrap().into_owned().into_plain_array::<f32>().unwrap();
            let a = if m.batched { a } else { a.insert_axis(Axis(0)) };
            if outs.len() <= k {
                outs.push(Vec::new());
            }
            outs[k].push(a);
        }
    }
    outs.into_iter()
        .map(|parts| {
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            ndarray::concatenate(Axis(0), &views).unwrap()
        })
        .collect()
}

fn ours(m: &ImportedModel, inputs: &[ArrayD<f32>]) -> Vec<ArrayD<f32>> {
    let g = forward_graph(m, inputs[0].shape()[0], Precision::F32, false);
    let mut exe = TractBackend.load(&g).unwrap();
    exe.run(inputs.iter().cloned().map(HostTensor::F32).collect()).unwrap().into_iter().map(|t| t.into_f32()).collect()
}

fn assert_close(name: &str, got: &ArrayD<f32>, want: &ArrayD<f32>, rel: f32) {
    assert_eq!(got.shape(), want.shape(), "{name}: shapes differ");
    let scale = want.iter().fold(1e-3f32, |a, &b| a.max(b.abs()));
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= rel * scale.max(w.abs()), "{name}: {g} vs {w} (scale {scale})");
    }
}

/// Compares every declared differentiable output.
fn check_against_tract(name: &str, proto: &ModelProto, m: &ImportedModel) {
    let inputs = random_inputs(m, 3, 7);
    let want = tract_original(proto, m, &inputs);
    let got = ours(m, &inputs);
    for (k, out) in m.graph.outputs.iter().enumerate() {
        if out.value.is_err() {
            continue;
        }
        let c = m.candidates.iter().position(|c| c.name == out.name).unwrap();
        assert_close(&format!("{name}:{}", out.name), &got[c], &want[k], 1e-4);
    }
}

/// Neurons per sample at each Relu/LeakyRelu/Clip node's input, read from
/// tract's typed model of the original: independent of our shape rules.
fn independent_neuron_count(proto: &ModelProto, m: &ImportedModel) -> usize {
    let mut model = tract_onnx::onnx().model_for_proto_model(proto).unwrap();
    for (i, &v) in m.graph.inputs.iter().enumerate() {
        let shape = if m.batched { m.graph.value(v).batched(1) } else { m.graph.value(v).shape.clone() };
        model = model.with_input_fact(i, f32::fact(&shape).into()).unwrap();
    }
    let typed = model.into_typed().unwrap();
    let graph = proto.graph.as_ref().unwrap();
    let mut total = 0;
    for node in &graph.node {
        let sites = match node.op_type.as_str() {
            "Relu" | "LeakyRelu" | "PRelu" | "Max" => 1,
            "Clip" => 2,
            _ => continue,
        };
        let outlet = typed.find_outlet_label(&node.input[0]).unwrap_or_else(|| panic!("no outlet {}", node.input[0]));
        let fact = typed.outlet_fact(outlet).unwrap();
        let n: usize = fact.shape.as_concrete().unwrap().iter().product();
        total += sites * n;
    }
    total
}

fn site_count(m: &ImportedModel) -> usize {
    adr_onnx::surrogate::relu_sites(&m.graph).iter().map(|s| s.neurons).sum()
}

#[test]
fn fixture_models_match_tract_on_the_original() {
    for path in fixture_models() {
        let proto = adr_onnx::onnx::proto::read_model(&path).unwrap();
        let m = import(&path).unwrap_or_else(|e| panic!("{e}"));
        check_against_tract(&path.display().to_string(), &proto, &m);
        assert_eq!(site_count(&m), independent_neuron_count(&proto, &m), "{}", path.display());
    }
}

#[test]
fn zoo_models_match_tract_on_the_original() {
    for z in adr_onnx::zoo::all() {
        let m = import_proto(Path::new(z.name), &z.graph.model).unwrap_or_else(|e| panic!("{}: {e}", z.name));
        check_against_tract(z.name, &z.graph.model, &m);
        assert_eq!(site_count(&m), independent_neuron_count(&z.graph.model, &m), "{}", z.name);
        let imported_ops: Vec<&str> = m.graph.nodes().iter().map(|n| n.onnx_op.as_str()).collect();
        for op in
            z.ops.iter().filter(|o| !["Identity", "Dropout", "Shape", "Size", "Gather", "ArgMax", "Cast"].contains(o))
        {
            let folded_into_layout = ["Concat", "Unsqueeze", "Squeeze", "Reshape"].contains(op);
            assert!(imported_ops.contains(op) || folded_into_layout, "{}: {op} missing from {imported_ops:?}", z.name);
        }
    }
}

#[test]
fn mnist_logits_match_the_shipped_reference() {
    let images: ArrayD<f32> = ndarray_npy::read_npy(fixtures().join("mnist/mnist_test_1000_images.npy")).unwrap();
    for name in ["mnist_cnn_clean", "mnist_cnn_pgd"] {
        let m = import(&fixtures().join(format!("models/{name}.onnx"))).unwrap();
        let want: ArrayD<f32> =
            ndarray_npy::read_npy(fixtures().join(format!("models/{name}_logits_1000.npy"))).unwrap();
        let got = ours(&m, std::slice::from_ref(&images));
        assert_close(name, &got[0], &want, 1e-4);
    }
}

#[test]
fn fixture_neuron_counts_match_the_fixture_docs() {
    let counts = [
        ("models/mnist_cnn_pgd.onnx", 2888 + 4608 + 800 + 100),
        ("models/rand_small_s1.onnx", 128),
        ("models/rand_large_s1.onnx", 1500),
        ("models/mnist_vae_decoder.onnx", 768),
        ("vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx", 300),
    ];
    for (file, n) in counts {
        let m = import(&fixtures().join(file)).unwrap();
        assert_eq!(site_count(&m), n, "{file}");
    }
}

#[test]
fn the_arg_max_head_is_explained_and_its_input_offered() {
    let m = import_proto(Path::new("head.onnx"), &common::models::zoo("classifier_head").model).unwrap();
    let label = m.graph.outputs.iter().find(|o| o.name == "label").unwrap();
    let why = label.value.as_ref().unwrap_err();
    assert!(why.contains("ArgMax") && why.contains("no gradient"), "{why}");
    assert_eq!(m.default_objective().unwrap().name, "probabilities");
}

#[test]
fn an_integer_cast_head_is_explained_and_its_input_offered() {
    let m = import_proto(Path::new("cast_head.onnx"), &common::models::zoo("more_ops").model).unwrap();
    let rounded = m.graph.outputs.iter().find(|o| o.name == "rounded_logits").unwrap();
    let why = rounded.value.as_ref().unwrap_err();
    assert!(why.contains("Cast") && why.contains("no gradient"), "{why}");
    assert_eq!(m.default_objective().unwrap().name, "probabilities");
    let logits = m.candidates.iter().find(|c| c.feeds.contains("Cast")).expect("the logits under the Cast are offered");
    assert_eq!(m.graph.value(logits.value).shape, vec![3]);
    let inputs = random_inputs(&m, 2, 3);
    let got = ours(&m, &inputs);
    let k = m.candidates.iter().position(|c| c.feeds.contains("Cast")).unwrap();
    let p = m.candidates.iter().position(|c| c.name == "probabilities").unwrap();
    for (l, q) in got[k].outer_iter().zip(got[p].outer_iter()) {
        let e = l.mapv(f32::exp);
        assert_close("softmax of the offered logits", &(&e / e.sum()).into_dyn(), &q.to_owned().into_dyn(), 1e-5);
    }
}

#[test]
fn skl2onnx_zipmap_head_offers_the_probabilities_under_it() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let zipped = import(&testdata.join("skl_mlp_classifier_zipmap.onnx")).unwrap();
    let plain = import(&testdata.join("skl_mlp_classifier.onnx")).unwrap();
    let probe = zipped.graph.outputs.iter().find(|o| o.name == "output_probability").unwrap();
    assert!(probe.value.as_ref().unwrap_err().contains("ZipMap"));
    let c = zipped.default_objective().unwrap();
    assert!(c.feeds.contains("ArgMax") || c.feeds.contains("ZipMap"), "{}", c.feeds);
    let x: ArrayD<f32> = ndarray_npy::read_npy(testdata.join("iris_first10.npy")).unwrap();
    let a = ours(&zipped, std::slice::from_ref(&x));
    let b = ours(&plain, &[x]);
    let p = plain.candidates.iter().position(|c| c.name == "probabilities").unwrap();
    assert_close("zipmap", &a[0], &b[p], 1e-6);
}

/// Clip, Max and a max-only Clip with bounds far from the values: the
/// derived network gives the values within the bounds to the bit, as the
/// file does (shifting x by a bound of 1e6 and back rounded it to 1/16).
#[test]
fn clamps_with_far_bounds_keep_the_values_within_them_exactly() {
    use adr_onnx::writer::builder::GraphBuilder;
    let mut g = GraphBuilder::new("far_bounds", Precision::F32);
    let x = g.input("x", vec![1, 6]);
    let w =
        g.constant("w", &ArrayD::from_shape_fn(IxDyn(&[6, 6]), |i| ((i[0] * 7 + i[1] * 3) % 11) as f32 / 3.0 - 1.7));
    let h = g.node("MatMul", &[&x, &w], vec![], vec![1, 6]);
    let scalar = |g: &mut GraphBuilder, v: f32| g.constant("bound", &ArrayD::from_elem(IxDyn(&[]), v));
    let (lo, hi) = (scalar(&mut g, -1e6), scalar(&mut g, 1e6));
    let clipped = g.node("Clip", &[&h, &lo, &hi], vec![], vec![1, 6]);
    let floor = scalar(&mut g, -3e6);
    let raised = g.node("Max", &[&clipped, &floor], vec![], vec![1, 6]);
    let none = adr_onnx::writer::builder::Sym { name: String::new(), shape: vec![] };
    let capped = g.node("Clip", &[&raised, &none, &hi], vec![], vec![1, 6]);
    let six = (scalar(&mut g, 0.0), scalar(&mut g, 6.0));
    let relu6 = g.node("Clip", &[&capped, &six.0, &six.1], vec![], vec![1, 6]);
    let y = g.node("Add", &[&relu6, &capped], vec![], vec![1, 6]);
    g.output(&y, "y");
    let graph = g.finish();
    let m = import_proto(Path::new("far_bounds.onnx"), &graph.model).unwrap();
    let inputs = random_inputs(&m, 5, 3);
    let (got, want) = (ours(&m, &inputs), tract_original(&graph.model, &m, &inputs));
    let worst = got[0].iter().zip(&want[0]).fold(0f32, |w, (g, t)| w.max((g - t).abs()));
    assert!(worst <= 1e-6, "off by {worst}");
    assert!(want[0].iter().any(|v| v.abs() > 0.5), "the values are not all zero");
}

/// An empty `axes` tensor on Squeeze squeezes every axis of extent 1, as
/// ONNX Runtime reads it: a Softmax after it then runs over the 3 classes,
/// where a Squeeze read as a no-op left it a size-1 axis (every output 1).
/// Where the batch axis holds one sample (a fixed batch of 1, or a
/// symbolic one, which adr-onnx imports at 1), ONNX Runtime squeezes it
/// too, and every later axis means another one: refused.
#[test]
fn a_squeeze_with_an_empty_axes_tensor_squeezes_every_unit_axis() {
    use adr_onnx::writer::builder::{attr_int, GraphBuilder};
    let build = |batch: usize, symbolic: bool| {
        let mut g = GraphBuilder::new("squeeze_empty", Precision::F32).with_opset(13);
        if symbolic {
            g = g.with_symbolic_batch("N");
        }
        let x = g.input("x", vec![batch, 2, 1, 3]);
        let r = g.node("Relu", &[&x], vec![], vec![batch, 2, 1, 3]);
        let none = g.constant_i64_array("axes", &ArrayD::zeros(IxDyn(&[0])));
        let s = g.node("Squeeze", &[&r, &none], vec![], vec![batch, 2, 3]);
        let y = g.node("Softmax", &[&s], vec![attr_int("axis", 2)], vec![batch, 2, 3]);
        g.output(&y, "y");
        g.finish()
    };
    for (batch, symbolic) in [(1, true), (1, false)] {
        let err = import_proto(Path::new("squeeze_empty.onnx"), &build(batch, symbolic).model).unwrap_err();
        assert!(err.to_string().contains("Squeeze removes the batch axis too"), "{err}");
    }
    let m = import_proto(Path::new("squeeze_empty.onnx"), &build(3, false).model).unwrap();
    let inputs = random_inputs(&m, 3, 5);
    let y = &ours(&m, &inputs)[0];
    assert_eq!(y.shape(), &[3, 2, 3]);
    for row in y.lanes(Axis(2)) {
        assert!((row.sum() - 1.0).abs() < 1e-6 && row.iter().all(|&p| p < 1.0), "{row}");
    }
}

/// A fixed-length vector input beside one whose first axis is symbolic:
/// the file does not tie the two first axes (ONNX Runtime runs `a [3]`
/// beside `b [N, 4]` at any N), so reading both as the batch axis would cut
/// `a` into one value per sample. Refused, naming both inputs.
#[test]
fn a_fixed_first_axis_beside_a_symbolic_one_is_refused() {
    use adr_onnx::writer::builder::GraphBuilder;
    use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
    let mut g = GraphBuilder::new("mixed", Precision::F32);
    let a = g.input("a", vec![3]);
    let b = g.input("b", vec![1, 3]);
    let y = g.node("Add", &[&a, &b], vec![], vec![1, 3]);
    let y = g.node("Relu", &[&y], vec![], vec![1, 3]);
    g.output(&y, "y");
    let mut model = g.finish().model;
    let graph = model.graph.as_mut().unwrap();
    let Some(tract_onnx::pb::type_proto::Value::TensorType(t)) = graph.input[1].r#type.as_mut().unwrap().value.as_mut()
    else {
        unreachable!("a tensor input")
    };
    t.shape.as_mut().unwrap().dim[0].value = Some(Dim::DimParam("N".into()));
    let err = import_proto(Path::new("mixed.onnx"), &model).unwrap_err().to_string();
    assert!(
        err.contains("input 'a' has a fixed first dimension of 3 and input 'b' a symbolic or unknown one"),
        "{err}"
    );
}

/// A Clip named `c` lowers to several ops whose tensors are named
/// `c:<tag>`; a model tensor of its own named `c:raised` (here a Relu's
/// output, read by the last Add) must still be the model's, not the Clip's.
#[test]
fn an_op_s_internal_tensors_never_take_a_model_tensor_s_name() {
    use adr_onnx::writer::builder::GraphBuilder;
    use tract_onnx::pb::NodeProto;
    let node = |name: &str, op: &str, inputs: &[&str], output: &str| NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    };
    let mut g = GraphBuilder::new("collide", Precision::F32);
    let x = g.input("x", vec![1, 4]);
    let w = g.constant("w", &ArrayD::from_shape_fn(IxDyn(&[4, 4]), |i| ((i[0] * 5 + i[1] * 3) % 7) as f32 - 3.0));
    let h = g.node("MatMul", &[&x, &w], vec![], vec![1, 4]);
    let lo = g.constant("lo", &ArrayD::from_elem(IxDyn(&[]), -1.0));
    let hi = g.constant("hi", &ArrayD::from_elem(IxDyn(&[]), 1.0));
    g.raw_node(node("r", "Relu", &[&h.name], "c:raised"));
    g.raw_node(node("c", "Clip", &[&h.name, &lo.name, &hi.name], "clipped"));
    g.raw_node(node("sum", "Add", &["c:raised", "clipped"], "y"));
    let y = adr_onnx::writer::builder::Sym { name: "y".into(), shape: vec![1, 4] };
    g.output(&y, "y");
    let graph = g.finish();
    let m = import_proto(Path::new("collide.onnx"), &graph.model).unwrap();
    let inputs = random_inputs(&m, 16, 7);
    let (got, want) = (ours(&m, &inputs), tract_original(&graph.model, &m, &inputs));
    assert_close("collide", &got[0], &want[0], 1e-6);
    assert!(m.graph.nodes().iter().any(|n| n.onnx_op == "Relu"), "the model's Relu is in the graph");
}
