"""Build the espeak-ng data the phonemizer reads (English), version-matched to the linked library.

The data is compiled from the espeak-ng sources inside the espeak-rs-sys crate that Cargo.lock
pins, by the phonemizer's own compiler (crates/phonemizer/examples/espeak-data.rs), so nothing is
downloaded. Output: models/espeak-ng-data (about 840 KB; mounted into components that phonemize).

    python3 models/espeak_data.py [OUT_DIR]
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "models" / "espeak-ng-data"


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
    # The data is rebuilt only when the espeak-ng sources (a new espeak-rs-sys) change.
    stamp = out / ".source"
    if stamp.is_file() and stamp.read_text() == sources.parent.name:
        print(f"models: espeak-ng data in place ({sources.parent.name})")
        return
    subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "vox-phonemizer", "--example", "espeak-data",
         "--", str(sources), str(out)],
        check=True, cwd=ROOT,
    )
    stamp.write_text(sources.parent.name)


if __name__ == "__main__":
    main()
