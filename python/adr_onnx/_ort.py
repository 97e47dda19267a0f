"""ONNX Runtime from the same environment: the ``onnxruntime`` (or
``onnxruntime-gpu``) package importable by this interpreter, handed to the
library through ``ORT_DYLIB_PATH`` unless that is set already. The package
is located without importing it."""

from __future__ import annotations

import importlib.util
import os
from typing import Optional


def library_of_this_environment() -> Optional[str]:
    """``libonnxruntime.so*`` of this interpreter's onnxruntime package (the
    most specific name, as the CLI picks), or None."""
    try:
        spec = importlib.util.find_spec("onnxruntime")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for package in spec.submodule_search_locations:
        capi = os.path.join(package, "capi")
        try:
            names = [n for n in os.listdir(capi) if n.startswith("libonnxruntime.so")]
        except OSError:
            continue
        if names:
            return os.path.join(capi, max(names, key=len))
    return None


def use_this_environment() -> None:
    """Sets ``ORT_DYLIB_PATH`` to this environment's ONNX Runtime, when it
    has one and the variable is unset."""
    if os.environ.get("ORT_DYLIB_PATH"):
        return
    library = library_of_this_environment()
    if library is not None:
        os.environ["ORT_DYLIB_PATH"] = library
