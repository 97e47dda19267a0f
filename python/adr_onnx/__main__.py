"""``python -m adr_onnx`` and the ``adr-onnx`` console script: the CLI,
compiled into the extension, run in this process."""

from __future__ import annotations

import signal
import sys
from typing import NoReturn


def main() -> NoReturn:
    # As the native binary: Ctrl-C ends the process, a closed pipe ends it quietly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    from . import _native, _ort

    _ort.use_this_environment()
    sys.exit(_native.cli_main(["adr-onnx", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
