#!/usr/bin/env python3
"""Fails when modules inside one crate import each other in a cycle.

`make lint` runs it over every crate of the workspace. A module `a` depends on `b` when `a`'s file
names `crate::b…` or `super::b…` (a `use`, or a path in the code). Edges are taken between sibling
modules (the children of the two modules' nearest common ancestor), so `a::x` using `b::y` is an
edge `a → b`; a child using its parent's items, or a parent re-exporting its children, is not a
cycle. `#[cfg(test)]` modules are left out: tests may reach anywhere.

    python3 .ci/module_cycles.py [CRATE_DIR ...]     # default: every crate in the workspace
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
PATH_RE = re.compile(rf"\b(crate|super)((?:::{IDENT})*)::(\{{[^;]*?\}}|{IDENT})", re.S)


def workspace_crates() -> list[Path]:
    members = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["members"]
    crates = []
    for pattern in members:
        for manifest in sorted(ROOT.glob(f"{pattern}/Cargo.toml")):
            if (manifest.parent / "src").is_dir():
                crates.append(manifest.parent)
    return crates


def module_files(src: Path) -> dict[tuple[str, ...], Path]:
    """Module path → file, for every `.rs` file under `src/` that is a module of the lib/bin."""
    modules: dict[tuple[str, ...], Path] = {}
    for file in sorted(src.rglob("*.rs")):
        rel = file.relative_to(src).with_suffix("").parts
        if rel in (("lib",), ("main",)):
            path: tuple[str, ...] = ()
        elif rel[-1] == "mod":
            path = rel[:-1]
        else:
            path = rel
        if rel and rel[0] == "bin":
            continue
        modules.setdefault(path, file)
    return modules


def strip_tests(text: str) -> str:
    """Removes `#[cfg(test)] mod x { … }` blocks and comments, so only shipped code counts."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def references(module: tuple[str, ...], text: str) -> set[tuple[str, ...]]:
    """Absolute module paths (possibly with item names on the end) that `module`'s code names."""
    refs = set()
    for m in PATH_RE.finditer(text):
        base = () if m.group(1) == "crate" else module[:-1]
        middle = tuple(p for p in m.group(2).split("::") if p)
        if m.group(1) == "super":
            # `super::super::x`: each extra `super` climbs one more level.
            while middle and middle[0] == "super":
                base, middle = base[:-1], middle[1:]
        last = m.group(3)
        if last.startswith("{"):
            heads = re.findall(rf"(?:^|[{{,])\s*({IDENT})", last)
            for head in heads:
                if head not in ("self", "super", "crate"):
                    refs.add(base + middle + (head,))
            refs.add(base + middle)
        else:
            refs.add(base + middle + (last,))
    return refs


def resolve(ref: tuple[str, ...], modules: set[tuple[str, ...]]) -> tuple[str, ...] | None:
    """The longest module path that prefixes `ref`."""
    for n in range(len(ref), 0, -1):
        if ref[:n] in modules:
            return ref[:n]
    return None


def sibling_edge(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    if n == len(a) or n == len(b):
        return None  # one is an ancestor of the other
    return a[: n + 1], b[: n + 1]


def cycles(edges: dict[tuple[str, ...], set[tuple[str, ...]]]) -> list[list[tuple[str, ...]]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[tuple[str, ...], int] = {}
    low: dict[tuple[str, ...], int] = {}
    stack: list[tuple[str, ...]] = []
    on_stack: set[tuple[str, ...]] = set()
    found = []

    def visit(v: tuple[str, ...]) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def check(crate: Path) -> list[str]:
    modules = module_files(crate / "src")
    known = set(modules)
    edges: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    why: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = {}
    for module, file in modules.items():
        for ref in references(module, strip_tests(file.read_text())):
            target = resolve(ref, known)
            if target is None or target == module:
                continue
            edge = sibling_edge(module, target)
            if edge:
                edges.setdefault(edge[0], set()).add(edge[1])
                why.setdefault(edge, f"{file.relative_to(ROOT)} uses {'::'.join(target)}")
    problems = []
    for component in cycles(edges):
        names = ", ".join("::".join(m) for m in component)
        detail = "; ".join(
            why[(a, b)] for a in component for b in sorted(edges.get(a, ())) if b in component
        )
        problems.append(f"{crate.relative_to(ROOT)}: module cycle between {names} ({detail})")
    return problems


def main(argv: list[str]) -> int:
    crates = [Path(a).resolve() for a in argv] or workspace_crates()
    problems = [p for crate in crates for p in check(crate)]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"module cycles: none in {len(crates)} crates")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
