"""SVG charts for the docs, drawn with the standard library: lines over time (the soak's memory)
and grouped bars (the benchmark's ratios against the reference tools).

  python3 -m bench.charts    redraws docs/bench-ratios.svg from the newest benchmark run with ASR
                             and TTS parts, and docs/soak-rss.svg from soak-latest.json
"""

import json
import math
import sys
from html import escape
from pathlib import Path

from bench.records import TTS_IN_COMPONENT, TTS_NATIVE
from bench.report import FW_INT8, VOX_HTTP, VOX_NATIVE, common_clips, ratio, total_wall
from bench.workspace import RESULTS_DIR, ROOT

WIDTH, HEIGHT = 720, 360
MARGIN = {"left": 64, "right": 150, "top": 40, "bottom": 48}
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
FAMILY = 'font-family="sans-serif"'
FONT = f'{FAMILY} font-size="12"'


def nice_top(value: float) -> float:
    """A round axis end at or above `value`."""
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    # Quarters of these are round too: the axis has four gridlines.
    for m in (1, 2, 4, 8, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def frame(title: str, x_label: str, y_label: str, y_top: float, body: list[str], legend: list[str]) -> str:
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
           f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" {FAMILY} font-size="14">{escape(title)}</text>']
    for i in range(5):
        value = y_top * i / 4
        y = MARGIN["top"] + plot_h * (1 - i / 4)
        out.append(f'<line x1="{MARGIN["left"]}" x2="{MARGIN["left"] + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{MARGIN["left"] - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{value:g}</text>')
    out.append(f'<text x="16" y="{MARGIN["top"] + plot_h / 2}" {FONT} text-anchor="middle" '
               f'transform="rotate(-90 16 {MARGIN["top"] + plot_h / 2})">{escape(y_label)}</text>')
    out.append(f'<text x="{MARGIN["left"] + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle" {FONT}>'
               f'{escape(x_label)}</text>')
    out += body
    for i, name in enumerate(legend):
        y = MARGIN["top"] + 10 + 18 * i
        x = WIDTH - MARGIN["right"] + 12
        out.append(f'<rect x="{x}" y="{y - 9}" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{x + 18}" y="{y + 2}" {FONT}>{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def line_chart(title: str, x_label: str, y_label: str, series: dict[str, list[tuple[float, float]]]) -> str:
    """One line per series of (x, y) points, on shared axes starting at zero."""
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    points = [p for s in series.values() for p in s]
    x_top = nice_top(max((x for x, _ in points), default=1))
    y_top = nice_top(max((y for _, y in points), default=1))
    body = []
    for i in range(5):
        value = x_top * i / 4
        x = MARGIN["left"] + plot_w * i / 4
        body.append(f'<text x="{x:.1f}" y="{MARGIN["top"] + plot_h + 16}" text-anchor="middle" {FONT}>'
                    f'{value:g}</text>')
    for i, line in enumerate(series.values()):
        path = " ".join(f"{MARGIN['left'] + plot_w * x / x_top:.1f},{MARGIN['top'] + plot_h * (1 - y / y_top):.1f}"
                        for x, y in line)
        body.append(f'<polyline fill="none" stroke="{COLOURS[i % len(COLOURS)]}" stroke-width="2" points="{path}"/>')
    return frame(title, x_label, y_label, y_top, body, list(series))


def bar_chart(title: str, y_label: str, groups: dict[str, dict[str, float]], target: float | None = None) -> str:
    """Grouped bars: one group per key of `groups`, one bar per series inside it; an optional
    dashed line marks a target."""
    plot_w = WIDTH - MARGIN["left"] - MARGIN["right"]
    plot_h = HEIGHT - MARGIN["top"] - MARGIN["bottom"]
    names = list(dict.fromkeys(n for g in groups.values() for n in g))
    values = [v for g in groups.values() for v in g.values()]
    y_top = nice_top(max(values + [target or 0], default=1))
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(names))
    body = []
    for gi, (group, bars) in enumerate(groups.items()):
        x0 = MARGIN["left"] + gi * group_w + group_w * 0.1
        for ni, name in enumerate(names):
            if name not in bars:
                continue
            h = plot_h * bars[name] / y_top
            x = x0 + ni * bar_w
            y = MARGIN["top"] + plot_h - h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" height="{h:.1f}" '
                        f'fill="{COLOURS[ni % len(COLOURS)]}"><title>{escape(group)}, {escape(name)}: '
                        f'{bars[name]:.2f}</title></rect>')
            body.append(f'<text x="{x + bar_w * 0.45:.1f}" y="{y - 3:.1f}" text-anchor="middle" {FAMILY} '
                        f'font-size="10">{bars[name]:.1f}</text>')
        body.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{MARGIN["top"] + plot_h + 16}" text-anchor="middle" '
                    f'{FONT}>{escape(group)}</text>')
    if target is not None:
        y = MARGIN["top"] + plot_h * (1 - target / y_top)
        body.append(f'<line x1="{MARGIN["left"]}" x2="{MARGIN["left"] + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#000" stroke-dasharray="6 4"/>')
        body.append(f'<text x="{MARGIN["left"] + plot_w + 4}" y="{y + 4:.1f}" {FONT}>target {target:g}x</text>')
    return frame(title, "", y_label, y_top, body, names)


def ratio_groups(result: dict) -> dict[str, dict[str, float]]:
    """Vox's time over the reference tool's in one benchmark run: ASR per beam against
    faster-whisper int8 (in the component through `vox up`, and the same code natively), TTS
    real-time factor per text against piper-tts."""
    groups: dict[str, dict[str, float]] = {}
    asr = result.get("asr")
    if asr:
        common = common_clips(asr["engines"])
        for beam in asr["beams"]:
            reference = total_wall(asr["engines"], FW_INT8, beam, common)
            groups[f"ASR beam {beam}"] = {
                "wasm (vox up)": ratio(total_wall(asr["engines"], VOX_HTTP, beam, common), reference),
                "native tract": ratio(total_wall(asr["engines"], VOX_NATIVE, beam, common), reference),
            }
    tts = result.get("tts")
    if tts:
        piper = tts["engines"]["piper-tts"]["rows"]
        # Runs before native inference measured only the component, under the default's name.
        places = [(TTS_IN_COMPONENT, "wasm (vox up)"), (TTS_NATIVE, "native tract")] \
            if TTS_IN_COMPONENT in tts["engines"] else [(TTS_NATIVE, "wasm (vox up)")]
        for engine, label in places:
            vox = tts["engines"][engine]["rows"]
            for name in vox:
                groups.setdefault(f"TTS {name}", {})[label] = ratio(vox[name]["rtf"], piper[name]["rtf"])
    return {g: {k: v for k, v in bars.items() if v is not None} for g, bars in groups.items()}


def main() -> None:
    docs = ROOT / "docs"
    drawn = []
    runs = sorted(RESULTS_DIR.glob("bench-*.json"), reverse=True)
    measured = (json.loads(p.read_text()) for p in runs)
    bench = next((r for r in measured if r.get("asr") and r.get("tts")), None)
    if bench:
        (docs / "bench-ratios.svg").write_text(bar_chart(
            f"Vox time over the reference tool's, 1 core (lower is better; {bench['started_utc']})",
            "ratio", ratio_groups(bench), target=2.0))
        drawn.append("docs/bench-ratios.svg")
    soak = RESULTS_DIR / "soak-latest.json"
    if soak.exists():
        from bench.soak import rss_chart

        (docs / "soak-rss.svg").write_text(rss_chart(json.loads(soak.read_text())))
        drawn.append("docs/soak-rss.svg")
    print("drew " + (", ".join(drawn) or "nothing: no results yet"), file=sys.stderr)


if __name__ == "__main__":
    main()
