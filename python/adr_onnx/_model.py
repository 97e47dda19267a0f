"""The ``model`` argument of every call: a path, the bytes of an ONNX file
(``bytes``, ``bytearray``, ``memoryview``, an ``io.BytesIO`` that
``torch.onnx.export`` wrote), or anything with ``SerializeToString()`` (an
``onnx.ModelProto``)."""

from __future__ import annotations

import io
import os
from typing import Any, Optional, Tuple

#: What errors and reports call a model given as bytes.
BYTES_NAME = "<model bytes>"


def model_source(model: Any) -> Tuple[Optional[str], Optional[bytes]]:
    """``(path, None)`` for a path, ``(None, bytes)`` for a model in memory."""
    if isinstance(model, (str, os.PathLike)):
        return os.fsdecode(model), None
    if isinstance(model, (bytes, bytearray, memoryview)):
        return None, bytes(model)
    if isinstance(model, io.BytesIO):
        return None, model.getvalue()
    serialize = getattr(model, "SerializeToString", None)
    if callable(serialize):
        return None, bytes(serialize())
    raise TypeError(
        "model: expected a path, the bytes of an ONNX file, or an object with SerializeToString() "
        f"(an onnx.ModelProto), got {type(model).__name__}"
    )


def model_file(model: Any, folder: str) -> Tuple[str, Optional[str]]:
    """A path the CLI can read for ``model``: its own path, or the bytes
    written into ``folder``; with the temporary path, when one was written."""
    path, data = model_source(model)
    if path is not None:
        return path, None
    assert data is not None
    written = os.path.join(folder, "model.onnx")
    with open(written, "wb") as f:
        f.write(data)
    return written, written
