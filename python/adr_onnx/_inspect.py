"""The calls that only read a model: ``inspect`` and ``derive``."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

from . import _native
from ._model import model_source


def inspect(model: Any) -> Dict[str, Any]:
    """The model's inputs, outputs, layers, ReLU sites and the methods that
    apply: the document ``adr-onnx inspect --json`` prints."""
    path, data = model_source(model)
    return json.loads(_native.inspect(path, data))


def derive(model: Any, alpha: Optional[float] = None) -> bytes:
    """The model's sigmoid surrogate ``f_hat(x, eta)`` as the bytes of an
    ONNX file (``adr-onnx derive``; docs/surrogate.md), its gates as sharp
    as ``alpha`` says (default 2000)."""
    path, data = model_source(model)
    return bytes(_native.derive(path, data, None if alpha is None else float(alpha)))
