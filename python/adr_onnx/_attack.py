"""``attack``: the audit of ``adr-onnx audit`` over numpy arrays, in memory."""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native, _ort
from ._model import model_source

Targets = Union[None, int, str, Sequence[int], np.ndarray]


@dataclass(frozen=True)
class AttackResult:
    """What ``attack`` found, per sample along the first axis of ``x``."""

    #: ``x`` with each successful sample replaced by its adversarial (same shape and dtype).
    adversarial: np.ndarray
    #: Whether the attack flipped the sample (or reached its target).
    success: np.ndarray
    #: Classification margin at the best point found (negative: flipped); NaN where not attacked.
    margin: np.ndarray
    #: Distance of the best point from the sample in the attack's norm; NaN where not attacked.
    distance: np.ndarray
    #: The attack stage that found the best point (``"apgd-ce"``, ``"adr"``, ...), or None.
    found_by: List[Optional[str]]
    #: Fraction of samples classified correctly and not flipped.
    robust_accuracy: float
    #: The audit report, the same document ``adr-onnx audit --out`` writes (docs/report.md).
    report: Dict[str, Any]


def _float_samples(x: Any) -> np.ndarray:
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"x: expected floating-point samples (float32 or float64), got {array.dtype}")
    if array.ndim < 1:
        raise ValueError("x: expected samples along the first axis, got a scalar")
    if array.shape[0] == 0:
        raise ValueError("x: the dataset holds no sample")
    return array


def _radius(value: Any) -> float:
    """One of ``epsilons``: positive and finite as a 32-bit number."""
    e = float(value)
    if not (0 < e <= float(np.finfo(np.float32).max) and np.float32(e) > 0):
        raise ValueError(f"epsilons: {value} is not a positive, finite 32-bit radius")
    return e


def _classes(values: Any, name: str) -> List[int]:
    array = np.asarray(values)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer) or (array < 0).any():
        raise ValueError(f"{name}: expected one non-negative integer class per sample")
    return [int(v) for v in array]


def _template(
    epsilon: float, norm: str, bounds: Optional[Tuple[float, float]], target: Union[int, str, None]
) -> str:
    if not math.isfinite(float(epsilon)):
        raise ValueError(f"epsilon={epsilon}: expected a finite number")
    if bounds is not None and not all(math.isfinite(float(b)) for b in bounds):
        raise ValueError(f"bounds={bounds}: expected two finite numbers, or None for no box")
    template: Dict[str, Any] = {
        "kind": "target_class",
        "epsilon": float(epsilon),
        "norm": norm,
        "bounds": None if bounds is None else [float(bounds[0]), float(bounds[1])],
    }
    if target is not None:
        template["target"] = target
    # NaN and infinities are no JSON: refused above, never written.
    return json.dumps(template, allow_nan=False)


def _settings(given: Mapping[str, Any]) -> str:
    return json.dumps({k: (v.item() if isinstance(v, np.generic) else v) for k, v in given.items() if v is not None})


def _per_sample(report: Dict[str, Any], x: np.ndarray, norm: str) -> AttackResult:
    samples = report["samples"]
    adversarial = x.copy()
    shape = x.shape[1:]
    for s in samples:
        encoded = s.get("adversarial_f32le")
        if encoded is not None:
            values = np.frombuffer(base64.b64decode(encoded), dtype="<f4").reshape(shape)
            adversarial[s["index"]] = values.astype(x.dtype)
    distance_key = "distance_l2" if norm == "l2" else "distance_linf"
    nan = float("nan")
    return AttackResult(
        adversarial=adversarial,
        success=np.array([bool(s["success"]) for s in samples], dtype=bool),
        margin=np.array([s.get("margin", nan) for s in samples], dtype=np.float64),
        distance=np.array([s.get(distance_key, nan) for s in samples], dtype=np.float64),
        found_by=[s.get("found_by") for s in samples],
        robust_accuracy=float(report["summary"]["robust_accuracy"]),
        report=report,
    )


def attack(
    model: Any,
    x: Any,
    y: Any,
    epsilon: Optional[float] = None,
    norm: str = "linf",
    method: str = "auto",
    targets: Targets = None,
    bounds: Optional[Tuple[float, float]] = (0.0, 1.0),
    restarts: Optional[int] = None,
    seed: Optional[int] = None,
    backend: str = "auto",
    device: Optional[str] = None,
    *,
    iterations: Optional[int] = None,
    epsilons: Optional[Sequence[float]] = None,
    epsilon_tolerance: float = 0.05,
    settings: Optional[Mapping[str, Any]] = None,
    batch: int = 64,
    threads: int = 1,
    ort_lib: Optional[str] = None,
) -> AttackResult:
    """Attacks every sample of ``x`` (samples along the first axis, the
    model's input shape past it) with label ``y``, as ``adr-onnx audit``
    does with the same settings: the same adversarials for the same seed.

    ``epsilon`` is the radius in ``norm`` (``"linf"`` or ``"l2"``), inside
    ``bounds``. ``method`` is ``auto`` (AutoAttack's ensemble, then ADR),
    ``adr``, ``pgd``, ``apgd``, ``apgd-t``, ``square``, ``gd`` or ``adam``.
    ``targets``: None (untargeted), a class for every sample, one class per
    sample, ``"random"``, ``"least_likely"`` or ``"all"``. ``epsilons``
    instead of ``epsilon``: a robustness curve and each sample's smallest
    flipping radius, bisected to ``epsilon_tolerance`` (the report's
    ``curve`` and ``min_epsilon``). ``settings``: any other field of the
    goal's method block (docs/goals.md), as the CLI's ``--set``.

    Releases the GIL; Ctrl-C stops the search and raises KeyboardInterrupt.
    Raises ValueError for bad input and AdrOnnxError for the rest, with the
    CLI's one-line messages.
    """
    samples = _float_samples(x)
    labels = _classes(y, "y")
    if not 0.0 < float(epsilon_tolerance) <= 1.0:
        raise ValueError(f"epsilon_tolerance={epsilon_tolerance}: not a fraction in (0, 1]")
    for name, value in (("batch", batch), ("threads", threads)):
        if int(value) < 1:
            raise ValueError(f"{name}={value}: expected a positive integer")
    radii = sorted({_radius(e) for e in epsilons}) if epsilons is not None else []
    if epsilon is None and not radii:
        raise ValueError("epsilon: give the radius (or epsilons=[...] for a robustness curve)")
    if norm not in ("linf", "l2"):
        raise ValueError(f"norm {norm!r}: expected 'linf' or 'l2'")
    per_sample: Optional[List[int]] = None
    fixed: Union[int, str, None] = None
    if isinstance(targets, str):
        fixed = targets
    elif isinstance(targets, (int, np.integer)):
        fixed = int(targets)
    elif targets is not None:
        per_sample = _classes(targets, "targets")
    method_block = dict(settings or {})
    method_block.update(algorithm=method, restarts=restarts, seed=seed, iterations=iterations)
    path, data = model_source(model)
    _ort.use_this_environment()
    text = _native.attack(
        path,
        data,
        np.ascontiguousarray(samples, dtype=np.float32),
        labels,
        _template(epsilon if epsilon is not None else radii[0], norm, bounds, fixed),
        _settings(method_block),
        per_sample,
        radii,
        float(epsilon_tolerance),
        backend,
        device,
        ort_lib,
        int(threads),
        int(batch),
    )
    return _per_sample(json.loads(text), samples, norm)
