"""Writes the smallest deployable Vox app: `target/small/spin.toml` (`make build-small`).

It is the repository's spin.toml with every component's `lazy` profile source (the plain builds,
no pre-initialised snapshots) and, of the models, only what the defaults use: the `asr_model`
checkpoint, Silero VAD, the voices and espeak-ng's data for those voices' languages only (the
full data has every language's dictionary, ≈ 8 MB and over a hundred package layers; the phoneme
tables and voice definitions are kept whole, the `<lang>_dict` files are those the installed
voices' `espeak.voice` use, copied to `target/small/espeak-ng-data`). Spin profiles can change a
component's source but not its `files`, hence a manifest of its own. Paths point back into the checkout, so
`spin up -f target/small/spin.toml` and `spin registry push -f target/small/spin.toml …` use the
files in place. Prints what the package holds and its size (docs/deploy.md, "Profiles").
"""

import json
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target/small/spin.toml"
BACK = "../.."  # from target/small/ to the checkout
ESPEAK_DATA = "models/espeak-ng-data"
VOICES = ROOT / "models/voices"


def espeak_dictionary(data: Path, voice: str) -> str | None:
    """The dictionary espeak loads for `voice` (a Piper config's `espeak.voice`), or None when no
    voice file has that name.

    As espeak's `LoadVoice` reads a voice file (lang/<family>/<name>, names matched without case as
    `espeak_ng_SetVoiceByName` does): its `dictionary` line, else its first `language` line up to
    the first '-'."""
    for path in sorted((data / "lang").rglob("*")):
        if not path.is_file() or path.name.lower() != voice.lower():
            continue
        language = dictionary = None
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] == "language" and language is None:
                language = words[1].split("-")[0]
            elif len(words) >= 2 and words[0] == "dictionary":
                dictionary = words[1]
        return dictionary or language
    return None


def espeak_subset(data: Path, voices: list[str]) -> list[Path]:
    """The files of the espeak-ng data directory `data` that `voices` need: everything but the
    dictionaries of other languages; every dictionary if one voice is not found."""
    files = [p for p in sorted(data.rglob("*")) if p.is_file() and p.name != ".source"]
    wanted = {espeak_dictionary(data, voice) for voice in voices}
    if None in wanted:
        return files
    return [p for p in files if p.parent != data or not p.name.endswith("_dict")
            or p.name.removesuffix("_dict") in wanted]


def installed_espeak_voices() -> list[str]:
    """The `espeak.voice` of every installed Piper voice."""
    return sorted({json.loads(p.read_text())["espeak"]["voice"] for p in VOICES.glob("*.onnx.json")})


def stage_espeak_data(files: list[Path]) -> Path:
    """Copies `files` of the espeak-ng data into target/small/espeak-ng-data, afresh."""
    data, staged = ROOT / ESPEAK_DATA, OUT.parent / "espeak-ng-data"
    shutil.rmtree(staged, ignore_errors=True)
    for path in files:
        target = staged / path.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return staged


def toml_value(value) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r}")


def table(name: str, entries: dict) -> list[str]:
    return [f"[{name}]"] + [f"{k} = {toml_value(v)}" for k, v in entries.items()] + [""]


def small_manifest(manifest: dict) -> tuple[dict, list[Path]]:
    """The manifest for the small app, and every file its package carries."""
    variables = manifest.get("variables", {})
    asr_model = variables["asr_model"]["default"]
    components, carried = {}, []
    for name, component in manifest["component"].items():
        source = component.get("profile", {}).get("lazy", {}).get("source", component["source"])
        carried.append(ROOT / source)
        out = {k: v for k, v in component.items() if k not in ("build", "profile", "files", "source")}
        out["source"] = f"{BACK}/{source}"
        files = []
        for mount in component.get("files", []):
            src, dest = mount["source"], mount["destination"]
            if src == "models/whisper":  # one checkpoint, not every installed one
                src, dest = f"{src}/{asr_model}", f"{dest}/{asr_model}"
            if src == ESPEAK_DATA:  # the installed voices' languages, staged beside the manifest
                subset = espeak_subset(ROOT / src, installed_espeak_voices())
                files.append({"source": "espeak-ng-data", "destination": dest})
                carried += subset
                continue
            files.append({"source": f"{BACK}/{src}", "destination": dest})
            carried += [p for p in sorted((ROOT / src).rglob("*")) if p.is_file()]
        if files:
            out["files"] = files
        components[name] = out
    small = {k: v for k, v in manifest.items() if k != "component"}
    small["component"] = components
    return small, carried


def render(small: dict) -> str:
    lines = ["# Generated by deploy/small_app.py (`make build-small`) from spin.toml: do not edit.",
             f"spin_manifest_version = {small['spin_manifest_version']}", ""]
    lines += table("application", small["application"])
    lines += table("variables", small.get("variables", {}))
    for trigger in small["trigger"]["http"]:
        lines += ["[[trigger.http]]"] + [f"{k} = {toml_value(v)}" for k, v in trigger.items()] + [""]
    for name, component in small["component"].items():
        variables = component.pop("variables", None)
        lines += table(f"component.{name}", component)
        if variables:
            lines += table(f"component.{name}.variables", variables)
    return "\n".join(lines)


def main() -> None:
    manifest = tomllib.loads((ROOT / "spin.toml").read_text())
    small, carried = small_manifest(manifest)
    missing = [p for p in carried if not p.exists()]
    if missing:
        sys.exit(f"missing {', '.join(str(p.relative_to(ROOT)) for p in missing)}: run `make components models`")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    stage_espeak_data([p for p in carried if (ROOT / ESPEAK_DATA) in p.parents])
    OUT.write_text(render(small))
    total = sum(p.stat().st_size for p in carried)
    print(f"{OUT.relative_to(ROOT)}: {len(carried)} files, {total / 1e6:.0f} MB before compression")
    for p in sorted(carried, key=lambda p: -p.stat().st_size)[:8]:
        print(f"  {p.stat().st_size / 1e6:8.1f} MB  {p.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
