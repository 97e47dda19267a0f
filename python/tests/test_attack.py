"""`adr_onnx.attack` on the fixture CNN: adversarials checked in ONNX
Runtime, the CLI's audit reproduced bit for bit, models in memory."""

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import adr_onnx
from conftest import CNN, predict

EPSILON = 0.25


def test_attack_flips_digits_and_onnxruntime_agrees(mnist, ort_cnn):
    x, y = mnist
    r = adr_onnx.attack(CNN, x, y, epsilon=EPSILON, method="pgd", seed=0)
    assert r.adversarial.shape == x.shape and r.adversarial.dtype == x.dtype
    assert r.success.dtype == bool and r.success.shape == (16,)
    assert 0 < r.success.sum() < 16, r.success
    flipped = predict(ort_cnn, r.adversarial[r.success])
    assert (flipped != y[r.success]).all()
    change = np.abs(r.adversarial - x).reshape(16, -1).max(axis=1)
    assert (change[r.success] <= EPSILON + 1e-6).all() and (change[~r.success] == 0).all()
    assert r.adversarial.min() >= 0.0 and r.adversarial.max() <= 1.0
    assert (r.margin[r.success] < 0).all() and np.allclose(r.distance[r.success], change[r.success], atol=1e-6)
    assert all(r.found_by[i] == "pgd" for i in np.flatnonzero(r.success))
    clean_correct = predict(ort_cnn, x) == y
    assert r.robust_accuracy == pytest.approx((clean_correct & ~r.success).mean())
    assert r.report["kind"] == "audit_report" and r.report["summary"]["successes"] == r.success.sum()


def test_attack_gives_the_cli_audit_adversarials_bit_for_bit(mnist, tmp_path):
    x, y = mnist
    r = adr_onnx.attack(CNN, x, y, epsilon=EPSILON, method="apgd", seed=3, restarts=2, backend="tract")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    template = {"kind": "target_class", "epsilon": EPSILON, "norm": "linf", "bounds": [0.0, 1.0]}
    (tmp_path / "template.json").write_text(json.dumps(template))
    cli = Path(sys.executable).with_name("adr-onnx")
    subprocess.run(
        [cli, "audit", CNN, "--images", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--goal",
         tmp_path / "template.json", "--method", "apgd", "--seed", "3", "--restarts", "2", "--backend", "tract",
         "--out", tmp_path / "audit.json", "--quiet"],
        check=True,
    )
    audit = json.loads((tmp_path / "audit.json").read_text())
    assert r.report["samples"] == audit["samples"]
    assert r.report["summary"] == audit["summary"] and r.report["settings"] == audit["settings"]
    assert r.report["model_sha256"] == audit["model_sha256"]


def test_a_model_in_memory_gives_the_same_report(mnist):
    x, y = mnist[0][:4], mnist[1][:4]
    by_path = adr_onnx.attack(CNN, x, y, epsilon=EPSILON, method="pgd", seed=0, iterations=20)
    data = CNN.read_bytes()

    class ModelProto:  # what onnx.load returns, as far as the package cares
        def SerializeToString(self):
            return data

    for model in (data, bytearray(data), io.BytesIO(data), ModelProto()):
        r = adr_onnx.attack(model, x, y, epsilon=EPSILON, method="pgd", seed=0, iterations=20)
        assert r.report["samples"] == by_path.report["samples"]
        assert r.report["provenance"]["model_file"] == "<model bytes>"


def test_float64_samples_keep_their_dtype_and_targets_are_reached(mnist, ort_cnn):
    x, y = mnist[0][:4].astype(np.float64), mnist[1][:4]
    targets = (y + 1) % 10
    r = adr_onnx.attack(str(CNN), x, y, epsilon=0.3, method="apgd-t", targets=targets, seed=0)
    assert r.adversarial.dtype == np.float64
    assert [s["target"] for s in r.report["samples"] if s["attacked"]] == [
        int(t) for t, s in zip(targets, r.report["samples"]) if s["attacked"]
    ]
    reached = predict(ort_cnn, r.adversarial[r.success])
    assert (reached == targets[r.success]).all()


def test_a_robustness_curve(mnist):
    x, y = mnist[0][:4], mnist[1][:4]
    r = adr_onnx.attack(CNN, x, y, epsilons=[0.3, 0.1], method="pgd", seed=0, epsilon_tolerance=0.5)
    radii = [p["epsilon"] for p in r.report["curve"]]
    assert radii == sorted(radii) and {0.1, 0.3} <= set(radii), radii
    flipped = [s for s in r.report["samples"] if s["success"]]
    assert flipped and all(0 < s["min_epsilon"] <= 0.3 for s in flipped)


def test_the_gil_is_released_during_an_attack(mnist):
    x, y = mnist
    worker = threading.Thread(
        target=adr_onnx.attack, args=(CNN, x, y), kwargs=dict(epsilon=0.01, method="gd", iterations=400, seed=0)
    )
    started = time.perf_counter()
    worker.start()
    turns = 0
    while worker.is_alive():
        turns += 1
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    assert seconds > 0.5, "the attack must last long enough to tell"
    assert turns > 0.5 * seconds / 0.005, (turns, seconds)


@pytest.fixture
def ctrl_c_enabled():
    """Ctrl-C raising KeyboardInterrupt, as in an interactive Python: a
    Python started with SIGINT ignored (a background job of a script, as
    `./scripts/test.sh &`) installs no handler, and ignores it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_an_attack_and_the_next_call_runs(mnist, ctrl_c_enabled):
    x, y = mnist
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    started = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        # Minutes of iterations (10-20 ms each): a missed interrupt fails
        # the test instead of running for hours.
        adr_onnx.attack(CNN, x, y, epsilon=0.01, method="gd", iterations=20_000, seed=0)
    assert time.perf_counter() - started < 20
    r = adr_onnx.attack(CNN, x[:2], y[:2], epsilon=EPSILON, method="pgd", seed=0)
    assert r.report["samples"][0]["attacked"]


def test_ctrl_c_also_cuts_another_threads_attack_short_and_it_says_so(mnist, ctrl_c_enabled):
    # The other thread's attack returned a full-looking report whose
    # unfinished samples counted as robust.
    x, y = mnist
    outcome = {}

    def other():
        try:
            outcome["report"] = adr_onnx.attack(CNN, x, y, epsilon=0.01, method="gd", iterations=20_000, seed=1)
        except KeyboardInterrupt as e:
            outcome["interrupted"] = str(e)

    worker = threading.Thread(target=other)
    worker.start()
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        adr_onnx.attack(CNN, x, y, epsilon=0.01, method="gd", iterations=20_000, seed=0)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert "report" not in outcome, "a search cut short returned a result"
    assert "another thread" in outcome["interrupted"]
