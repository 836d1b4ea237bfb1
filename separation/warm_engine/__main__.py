"""The warm engine's process: ``python -m separation.warm_engine --socket S --settings JSON``.

Started in the background by ``stemline engine start``
(:func:`separation.warm_engine.lifecycle.spawn`), never by hand. It configures TensorFlow as
``stemline`` does, writes its pid file, loads the model and compiles its first call
(:func:`separation.warm_engine.serve.serve`), then serves until stopped or idle. It logs to
its standard error, which the starter sends to the engine's log file. Exit status 1 when the
model cannot be loaded or the socket cannot be bound.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from ..tensorflow_env import configure_tensorflow
from .lifecycle import engine_paths
from .serve import serve


def main(argv: list[str] | None = None) -> int:
    """Parse the starter's arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m separation.warm_engine")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--settings", required=True, help="serve()'s keyword arguments, JSON")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    configure_tensorflow(verbose=args.verbose)
    return serve(engine_paths(args.socket), **json.loads(args.settings))


if __name__ == "__main__":
    sys.exit(main())
