"""Shared fixtures of the package's tests: the repository's models and data
(`../shared/fixtures`, as the Rust tests find them)."""

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / ".." / "shared" / "fixtures"
CNN = FIXTURES / "models" / "mnist_cnn_pgd.onnx"


@pytest.fixture(scope="session")
def mnist():
    """The first 16 MNIST test images (float32, [16, 1, 28, 28]) and labels."""
    images = np.load(FIXTURES / "mnist" / "mnist_test_1000_images.npy")[:16]
    labels = np.load(FIXTURES / "mnist" / "mnist_test_1000_labels.npy")[:16]
    return images.astype(np.float32), labels.astype(np.int64)


@pytest.fixture(scope="session")
def ort_cnn():
    """The CNN in ONNX Runtime's own Python session, to check results."""
    import onnxruntime

    return onnxruntime.InferenceSession(str(CNN), providers=["CPUExecutionProvider"])


def predict(session, x):
    (logits,) = session.run(None, {session.get_inputs()[0].name: x.astype(np.float32)})
    return logits.argmax(axis=1)
