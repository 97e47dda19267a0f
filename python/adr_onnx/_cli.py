"""``run`` and ``falsify``: the CLI's ``run`` and ``falsify`` commands,
run in this process on temporary files (a goal names its data by path, a
search writes artifacts), their reports read back. Error messages name the
caller's arguments, not the temporary files."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Union

import numpy as np

from . import _native, _ort
from ._model import BYTES_NAME, model_file

#: Goal fields that hold data: a path, ``{"png": path}``, ``{"npy": path, "index": i}`` or numbers.
_DATA_FIELDS = ("input", "target", "value")


class RunResult(NamedTuple):
    """What ``run`` returns: the report and the best input."""

    #: The JSON report of ``adr-onnx run`` (docs/report.md).
    report: Dict[str, Any]
    #: The best input found, in the model input's shape, its batch axis included (``best_input.npy``).
    best_input: np.ndarray


class FalsifyResult(NamedTuple):
    """What ``falsify`` returns."""

    #: ``"sat"``, ``"timeout"`` or ``"unknown"`` (a falsifier never answers ``unsat``).
    verdict: str
    #: The counterexample's input (float32 values as float64), or None.
    counterexample: Optional[np.ndarray]
    #: The model's outputs there, or None.
    output: Optional[np.ndarray]
    #: The JSON report of ``adr-onnx falsify --report``.
    report: Dict[str, Any]
    #: The result file in the VNN-COMP format (``--out``).
    text: str


def _plain(value: Any) -> Any:
    """``value`` with numpy arrays and scalars as lists and numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _absolute(data: Any) -> Any:
    """A data field with its relative paths made absolute (the goal file is
    written elsewhere; the caller's paths are relative to the working folder)."""
    if isinstance(data, (str, os.PathLike)):
        return os.path.abspath(os.fsdecode(data))
    if isinstance(data, Mapping):
        return {k: (_absolute(v) if k in ("png", "npy") else v) for k, v in data.items()}
    return data


def _goal_document(goal: Mapping[str, Any]) -> Dict[str, Any]:
    document = _plain(goal)
    for field in _DATA_FIELDS:
        if field in document and not (field == "target" and document.get("kind") == "target_class"):
            document[field] = _absolute(document[field])
    inputs = document.get("inputs")
    if isinstance(inputs, Mapping):
        document["inputs"] = {
            name: ({**box, "value": _absolute(box["value"])} if isinstance(box, Mapping) and "value" in box else box)
            for name, box in inputs.items()
        }
    return document


def _flags(**given: Any) -> List[str]:
    flags: List[str] = []
    for name, value in given.items():
        if value is not None:
            # `--flag=value`: a negative value would read as flags of its own.
            flags.append(f"--{name.replace('_', '-')}={value}")
    return flags


def _set_flags(settings: Optional[Mapping[str, Any]]) -> List[str]:
    flags: List[str] = []
    for key, value in (settings or {}).items():
        flags += ["--set", f"{key}={json.dumps(_plain(value))}"]
    return flags


def _command(argv: List[str], names: Dict[str, str]) -> int:
    """Runs the CLI command ``argv``; an error's message names the caller's
    arguments instead of the temporary files in ``names``."""
    _ort.use_this_environment()
    try:
        return _native.command(["adr-onnx", *argv])
    except (ValueError, _native.AdrOnnxError) as e:
        message = str(e)
        for temporary, name in names.items():
            message = message.replace(temporary, name)
        raise type(e)(message) from None


def run(
    model: Any,
    goal: Union[Mapping[str, Any], str, os.PathLike],
    *,
    epsilon: Optional[float] = None,
    method: Optional[str] = None,
    iterations: Optional[int] = None,
    restarts: Optional[int] = None,
    seed: Optional[int] = None,
    settings: Optional[Mapping[str, Any]] = None,
    backend: str = "auto",
    device: Optional[str] = None,
    threads: int = 1,
    ort_lib: Optional[str] = None,
    artifacts: Optional[Union[str, os.PathLike]] = None,
) -> RunResult:
    """Searches the model's input for ``goal`` as ``adr-onnx run`` does: a
    goal dict (docs/goals.md; data fields may hold numpy arrays, relative
    paths are relative to the working folder) or a goal file. The flags as
    the CLI's; ``settings`` as ``--set``. The artifacts (best input as .npy
    and PNG, perturbation, objective plot) are kept in ``artifacts`` when
    given. Returns the report and the best input; ``report["achieved"]``
    says whether the goal was reached."""
    with tempfile.TemporaryDirectory(prefix="adr-onnx-") as folder:
        model_path, written = model_file(model, folder)
        names = {written: BYTES_NAME} if written else {}
        if isinstance(goal, Mapping):
            goal_path = os.path.join(folder, "goal.json")
            with open(goal_path, "w") as f:
                json.dump(_goal_document(goal), f)
            names[goal_path] = "goal"
        else:
            goal_path = os.fsdecode(goal)
        out = os.path.join(folder, "report.json")
        artifact_dir = os.fsdecode(artifacts) if artifacts is not None else os.path.join(folder, "artifacts")
        argv = ["run", model_path, "--goal", goal_path, "--out", out, "--artifacts", artifact_dir, "--quiet"]
        argv += _flags(
            epsilon=epsilon, method=method, iterations=iterations, restarts=restarts, seed=seed,
            backend=backend, device=device, threads=threads, ort_lib=ort_lib,
        )
        _command(argv + _set_flags(settings), names)
        with open(out) as f:
            report = json.load(f)
        best = np.load(os.path.join(artifact_dir, "best_input.npy"))
        if artifacts is None:
            names[artifact_dir] = NOT_KEPT
        report = _renamed(report, names)
    return RunResult(report, best)


#: What a report names for artifacts written to a temporary folder and
#: removed with it.
NOT_KEPT = "<not kept: give artifacts=...>"


def _renamed(value: Any, names: Dict[str, str]) -> Any:
    """``value`` (a report) with every temporary path in ``names`` replaced
    by its name: the files are gone when the call returns."""
    if isinstance(value, str):
        for temporary, name in names.items():
            value = value.replace(temporary, name)
        return value
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    return value


def _property_file(prop: Union[str, os.PathLike, bytes], folder: str) -> tuple:
    """A path for the property: its own, or VNN-LIB text written to ``folder``."""
    if isinstance(prop, bytes):
        prop = prop.decode()
    if isinstance(prop, str) and "(" in prop and not os.path.exists(prop):
        written = os.path.join(folder, "property.vnnlib")
        with open(written, "w") as f:
            f.write(prop)
        return written, written
    return os.fsdecode(prop), None


def falsify(
    model: Any,
    property: Union[str, os.PathLike, bytes],
    timeout: float = 60.0,
    *,
    method: Optional[str] = None,
    rounds: Optional[int] = None,
    restarts: Optional[int] = None,
    seed: Optional[int] = None,
    settings: Optional[Mapping[str, Any]] = None,
    backend: str = "auto",
    device: Optional[str] = None,
    threads: int = 1,
    ort_lib: Optional[str] = None,
) -> FalsifyResult:
    """Searches a VNN-LIB property (a path, ``.vnnlib`` or ``.vnnlib.gz``,
    or its text) for a counterexample within ``timeout`` seconds, as
    ``adr-onnx falsify`` does: ``sat`` with the input (inside the box as
    written, the property violated exactly, confirmed on the original
    model), else ``timeout`` or ``unknown``."""
    with tempfile.TemporaryDirectory(prefix="adr-onnx-") as folder:
        model_path, written = model_file(model, folder)
        names = {written: BYTES_NAME} if written else {}
        property_path, written_property = _property_file(property, folder)
        if written_property:
            names[written_property] = "property"
        out, report_path = os.path.join(folder, "result.txt"), os.path.join(folder, "report.json")
        argv = ["falsify", model_path, property_path, f"--timeout={float(timeout)}"]
        argv += ["--out", out, "--report", report_path, "--quiet"]
        argv += _flags(
            method=method, rounds=rounds, restarts=restarts, seed=seed,
            backend=backend, device=device, threads=threads, ort_lib=ort_lib,
        )
        _command(argv + _set_flags(settings), names)
        with open(out) as f:
            text = f.read()
        with open(report_path) as f:
            report = _renamed(json.load(f), names)
    outcome = report["outcome"]
    found = outcome.get("counterexample")
    return FalsifyResult(
        verdict=outcome["verdict"],
        counterexample=np.array(found["input"]) if found else None,
        output=np.array(found["output"]) if found else None,
        report=report,
        text=text,
    )
