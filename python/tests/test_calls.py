"""`adr_onnx.run`, `falsify`, `inspect`, `derive`, the errors, and the CLI
that comes with the package."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adr_onnx
from conftest import CNN, FIXTURES, ROOT, predict

DIGIT = ROOT / "testdata" / "mnist" / "digit_0_label_7.png"
VNNCOMP = FIXTURES / "vnncomp" / "test"


def test_run_a_goal_dict_with_a_numpy_input(mnist, ort_cnn):
    x, y = mnist
    goal = {"kind": "target_class", "input": x[0], "label": int(y[0]), "epsilon": 0.25, "bounds": [0.0, 1.0]}
    report, best = adr_onnx.run(CNN, goal, method="pgd", seed=0)
    assert report["kind"] == "run_report" and report["achieved"] is True
    assert best.shape == (1, *x[0].shape), "the model input's shape, its batch axis included"
    assert predict(ort_cnn, best)[0] != y[0]
    assert np.abs(best[0] - x[0]).max() <= 0.25 + 1e-6
    # The temporary goal file and artifacts are gone: the report names
    # neither (it pointed into a removed folder).
    assert report["goal_file"] == "goal"
    assert report["best"]["input_npy"].startswith("<not kept")
    assert "adr-onnx-" not in json.dumps(report)


def test_run_reads_relative_paths_from_the_working_folder_and_keeps_artifacts(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    goal = {"kind": "target_class", "input": str(DIGIT.relative_to(ROOT)), "label": 7, "epsilon": 0.25}
    result = adr_onnx.run(CNN.read_bytes(), goal, method="pgd", seed=0, artifacts=tmp_path / "art")
    assert result.report["achieved"] is True and result.report["model"]["path"] == "<model bytes>"
    assert (tmp_path / "art" / "best_input.npy").exists()
    np.testing.assert_array_equal(np.load(tmp_path / "art" / "best_input.npy"), result.best_input)


def test_run_a_goal_file_as_the_cli_does():
    goal = ROOT / "testdata" / "goals" / "untargeted_png.json"
    report, _ = adr_onnx.run(CNN, goal, method="pgd", seed=0)
    assert report["achieved"] is True and report["model"]["path"] == str(CNN)


def test_falsify_finds_the_acas_xu_counterexample():
    prop = VNNCOMP / "test_prop.vnnlib"
    r = adr_onnx.falsify(VNNCOMP / "test_sat.onnx", prop, timeout=60)
    assert r.verdict == "sat" and r.text.startswith("sat")
    assert r.counterexample.shape == (5,) and r.output.shape == (5,)
    assert r.report["outcome"]["counterexample"]["confirmations"][0]["confirmed"] is True
    from_text = adr_onnx.falsify((VNNCOMP / "test_sat.onnx").read_bytes(), prop.read_text(), timeout=60)
    assert from_text.verdict == "sat"


def test_falsify_never_claims_unsat():
    r = adr_onnx.falsify(VNNCOMP / "test_nano.onnx", VNNCOMP / "test_nano.vnnlib", timeout=2, rounds=1)
    assert r.verdict in ("unknown", "timeout") and r.counterexample is None


def test_inspect_and_derive(ort_cnn):
    summary = adr_onnx.inspect(CNN)
    from_bytes = adr_onnx.inspect(CNN.read_bytes())
    assert summary["kind"] == "inspect_report" and from_bytes["model"] == "<model bytes>"
    assert {**summary, "model": None} == {**from_bytes, "model": None}
    import onnxruntime

    surrogate = adr_onnx.derive(CNN, alpha=500)
    session = onnxruntime.InferenceSession(surrogate, providers=["CPUExecutionProvider"])
    assert len(session.get_inputs()) >= 2, "x and the gate variables eta"


def test_bad_input_raises_value_error_with_the_cli_message(mnist):
    x, y = mnist
    with pytest.raises(ValueError, match=r"^<model bytes>: not a readable ONNX model"):
        adr_onnx.attack(b"not onnx", x, y, epsilon=0.1)
    with pytest.raises(ValueError, match=r"x holds 16 images but y holds 15 labels"):
        adr_onnx.attack(CNN, x, y[:15], epsilon=0.1)
    with pytest.raises(ValueError, match=r"^attack: at /epsilon"):
        adr_onnx.attack(CNN, x, y, epsilon=-0.1)
    with pytest.raises(ValueError, match=r"^lr=\"fast\""):
        adr_onnx.attack(CNN, x, y, epsilon=0.1, settings={"lr": "fast"})
    with pytest.raises(ValueError, match=r"^y: expected one non-negative integer class per sample"):
        adr_onnx.attack(CNN, x, y.astype(np.float32), epsilon=0.1)
    with pytest.raises(ValueError, match=r"^goal: at /label"):
        adr_onnx.run(CNN, {"kind": "target_class", "input": x[0], "label": "seven", "epsilon": 0.1})
    with pytest.raises(TypeError, match=r"^model: expected a path"):
        adr_onnx.inspect(42)
    # A sliced empty batch panicked (PanicException, with a backtrace).
    with pytest.raises(ValueError, match=r"^x: the dataset holds no sample"):
        adr_onnx.attack(CNN, x[5:5], y[5:5], epsilon=0.1)
    with pytest.raises(ValueError, match=r"^epsilon_tolerance=0: not a fraction"):
        adr_onnx.attack(CNN, x, y, epsilons=[0.1, 0.4], epsilon_tolerance=0)
    with pytest.raises(ValueError, match=r"^epsilon=nan: expected a finite number"):
        adr_onnx.attack(CNN, x, y, epsilon=float("nan"))
    with pytest.raises(ValueError, match=r"^epsilons: inf is not a positive, finite 32-bit radius"):
        adr_onnx.attack(CNN, x, y, epsilons=[0.1, float("inf")])
    with pytest.raises(ValueError, match=r"^batch=-1"):
        adr_onnx.attack(CNN, x, y, epsilon=0.1, batch=-1)
    # A negative value was read as flags of its own ("unexpected argument '-1'").
    with pytest.raises(ValueError, match=r"--seed"):
        adr_onnx.run(CNN, {"kind": "target_class", "input": x[0], "label": 7, "epsilon": 0.1}, seed=-1)
    with pytest.raises(ValueError, match=r"^alpha must be a positive"):
        adr_onnx.derive(CNN, alpha=-1)


def test_other_failures_raise_adr_onnx_error(tmp_path):
    missing = tmp_path / "missing.onnx"
    with pytest.raises(adr_onnx.AdrOnnxError, match=str(missing)):
        adr_onnx.inspect(missing)
    assert not issubclass(adr_onnx.AdrOnnxError, ValueError)


def test_the_cli_is_installed_with_the_package():
    cli = Path(sys.executable).with_name("adr-onnx")
    line = subprocess.run([cli, "--version"], capture_output=True, text=True, check=True).stdout
    assert line.startswith(f"adr-onnx {adr_onnx.__version__} (commit ") and "features: onnxruntime" in line
    module = subprocess.run([sys.executable, "-m", "adr_onnx", "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and module.stdout == line
    bad = subprocess.run([cli, "inspect", "/nonexistent.onnx"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("adr-onnx: error: /nonexistent.onnx")
