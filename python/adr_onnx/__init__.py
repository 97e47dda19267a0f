"""adr-onnx from Python: adversarial attacks and input search on any ONNX
model from numpy arrays, with the results of the ``adr-onnx`` CLI for the
same settings and seed (docs/python.md).

- ``attack(model, x, y, epsilon=...)``: robust accuracy and adversarials of
  a batch (the audit of ``adr-onnx audit``);
- ``run(model, goal)``: the search of a goal (``adr-onnx run``);
- ``falsify(model, property, timeout=...)``: a VNN-LIB counterexample;
- ``inspect(model)``, ``derive(model)``: the model's summary and surrogate.

``model`` is a path, the bytes of an ONNX file, or an ``onnx.ModelProto``.
"""

from ._attack import AttackResult, attack
from ._cli import FalsifyResult, RunResult, falsify, run
from ._inspect import derive, inspect
from ._native import AdrOnnxError, version as _version_line

__version__: str = _version_line().split(" ", 1)[0]

__all__ = [
    "AdrOnnxError",
    "AttackResult",
    "FalsifyResult",
    "RunResult",
    "attack",
    "derive",
    "falsify",
    "inspect",
    "run",
]
