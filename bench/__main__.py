"""`make bench`: measures Vox against faster-whisper and piper-tts side by side, in one run.

  python3 -m bench                  quick mode (fixtures + a ~30 s clip; sentence and paragraph)
  python3 -m bench --full           adds a ~2.7 min clip and ~70 s of speech to synthesize
  python3 -m bench --only preinit   one part: asr, tts, service, preinit, spin or streaming

Prints a Markdown report and writes it, with the raw JSON, to bench/results/.
Expects `make build models` (the Makefile's `bench` target runs them first). Runs under the
python of its virtual environment (bench/reference_env.py), switching to it at the start.
"""

import argparse
import logging
import os
import signal
import sys

from bench.reference_env import ensure_reference_tools, running_inside, venv_dir
from bench.workspace import missing_build_outputs

PARTS = ["asr", "tts", "service", "preinit", "spin", "streaming"]

log = logging.getLogger("bench")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python3 -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="add the long clip and the long text")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for faster-whisper and piper-tts (default 1, like one Vox request)")
    parser.add_argument("--beams", default="1,5", help="ASR beam sizes, comma separated (default 1,5)")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable; default: all of them)")
    return parser.parse_args()


def exit_on_sigterm() -> None:
    """Turns SIGTERM into SystemExit, so every started `vox up` is stopped on the way out."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def main() -> None:
    exit_on_sigterm()
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    missing = missing_build_outputs()
    if missing:
        log.error("missing %s; run `make build models` first", ", ".join(missing))
        sys.exit(1)
    python = ensure_reference_tools()
    if not running_inside(venv_dir()):
        # The same command again under the venv's python, which has jiwer and the normaliser.
        os.execv(python, [str(python), "-m", "bench", *sys.argv[1:]])
    # Imported only here, inside the venv: measuring needs the WER libraries installed there.
    from bench.suite import run_suite

    run_suite(full=args.full, threads=args.threads, beams=[int(b) for b in args.beams.split(",")],
              parts=args.only or PARTS)


if __name__ == "__main__":
    main()
