"""Type stubs of the extension ``adr_onnx._native`` (python/src). The
public API is in ``adr_onnx``; these are its building blocks."""

from os import PathLike
from typing import List, Optional, Union

import numpy as np
import numpy.typing as npt

_Path = Union[str, PathLike[str]]

class AdrOnnxError(Exception):
    """An error of adr-onnx that is not bad input: a file that cannot be
    read, a backend that fails, the memory limit."""

def cli_main(argv: List[str]) -> int:
    """Runs the ``adr-onnx`` command line as the binary does; the exit code."""

def command(argv: List[str]) -> int:
    """Runs a command line for the API: 0 or 1; errors raise."""

def version() -> str:
    """The ``--version`` line."""

def attack(
    path: Optional[_Path],
    bytes: Optional[bytes],
    x: npt.NDArray[np.float32],
    y: List[int],
    template: str,
    settings: str,
    targets: Optional[List[int]],
    epsilons: List[float],
    epsilon_tolerance: float,
    backend: str,
    device: Optional[str],
    ort_lib: Optional[_Path],
    threads: int,
    batch: int,
) -> str:
    """The audit report (JSON text) of attacking every sample of ``x``."""

def inspect(path: Optional[_Path], bytes: Optional[bytes]) -> str:
    """``adr-onnx inspect --json`` of the model, as JSON text."""

def derive(path: Optional[_Path], bytes: Optional[bytes], alpha: Optional[float]) -> bytes:
    """The bytes of the model's surrogate."""
