"""Build the espeak-ng data the phonemizer reads, every language, version-matched to the library.

The data is compiled from the espeak-ng sources inside the espeak-rs-sys crate that Cargo.lock
pins, by the phonemizer's own compiler (crates/phonemizer/examples/espeak-data.rs), so nothing is
downloaded. Output: models/espeak-ng-data (about 8 MB, 117 dictionaries; mounted into components
that phonemize).

    python3 models/espeak_data.py [OUT_DIR]
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "models" / "espeak-ng-data"
# What the compiler puts in the directory, stamped beside the source version: a directory built
# by an older compiler (English only, before "all-languages") is rebuilt once.
DATA_FORMAT = "all-languages"


def espeak_sources() -> Path:
    """The espeak-ng source tree of the espeak-rs-sys package in the dependency graph.

    Its parent directory's name carries the package version (`espeak-rs-sys-0.2.0`)."""
    metadata = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--manifest-path",
             str(ROOT / "crates" / "phonemizer" / "Cargo.toml")],
            check=True, capture_output=True, text=True,
        ).stdout
    )
    for package in metadata["packages"]:
        if package["name"] == "espeak-rs-sys":
            return Path(package["manifest_path"]).parent / "espeak-ng"
    sys.exit("espeak-rs-sys is not in the dependency graph of vox-phonemizer")


def main() -> None:
    out = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT_OUT
    sources = espeak_sources()
    # The data is rebuilt only when the espeak-ng sources (a new espeak-rs-sys) or what the
    # compiler builds from them change.
    stamp = out / ".source"
    wanted = f"{sources.parent.name} {DATA_FORMAT}"
    if stamp.is_file() and stamp.read_text() == wanted:
        print(f"models: espeak-ng data in place ({wanted})")
        return
    # espeak-ng says "Can't read dictionary file" for each language it selects before that
    # language's dictionary is compiled: expected, so its stderr is shown only on failure.
    built = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "vox-phonemizer", "--example", "espeak-data",
         "--", str(sources), str(out)],
        cwd=ROOT, stdout=None, stderr=subprocess.PIPE, text=True,
    )
    if built.returncode != 0:
        sys.stderr.write(built.stderr)
        sys.exit(f"models: building the espeak-ng data failed (exit {built.returncode})")
    stamp.write_text(wanted)


if __name__ == "__main__":
    main()
