"""The docs' charts are well-formed SVG that draw what they are given."""

import unittest
import xml.etree.ElementTree as ET

from bench.charts import bar_chart, line_chart, nice_top, ratio_groups
from bench.records import as_json
from bench.test_report import asr_part, tts_part

SVG = "{http://www.w3.org/2000/svg}"


class ChartsTest(unittest.TestCase):
    def test_line_chart_draws_one_line_per_series(self):
        svg = ET.fromstring(line_chart("RSS", "minutes", "MB", {
            "RSS": [(0, 100), (1, 300), (2, 310)], "PSS": [(0, 80), (1, 200), (2, 205)]}))
        lines = svg.findall(f"{SVG}polyline")
        self.assertEqual(len(lines), 2)
        self.assertEqual(len(lines[0].get("points").split()), 3)
        # The highest point sits at the top of an axis that ends at a round number above it.
        ys = [float(p.split(",")[1]) for p in lines[0].get("points").split()]
        self.assertLess(ys[2], ys[0])

    def test_bar_chart_draws_each_bar_and_the_target(self):
        svg = ET.fromstring(bar_chart("ratios", "ratio", {"beam 1": {"asr": 3.9}, "beam 5": {"asr": 4.8}},
                                      target=2.0))
        bars = [r for r in svg.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
        self.assertEqual(len(bars), 2)
        self.assertGreater(float(bars[1].get("height")), float(bars[0].get("height")))
        self.assertTrue(any(l.get("stroke-dasharray") for l in svg.findall(f"{SVG}line")))

    def test_ratios_come_from_a_run_with_asr_and_tts(self):
        groups = ratio_groups({"asr": as_json(asr_part()), "tts": as_json(tts_part())})
        asr = [g for g in groups if g.startswith("ASR beam")]
        tts = [g for g in groups if g.startswith("TTS")]
        self.assertEqual(len(asr), len(asr_part().beams))
        self.assertTrue(tts)
        for bars in groups.values():
            self.assertTrue(bars)
            self.assertTrue(all(v > 0 for v in bars.values()), bars)

    def test_axis_ends_are_round(self):
        self.assertEqual(nice_top(0.7), 0.8)
        self.assertEqual(nice_top(30.1), 40)
        self.assertEqual(nice_top(312), 400)
        self.assertEqual(nice_top(1108), 2000)
        self.assertEqual(nice_top(4.8), 8)


if __name__ == "__main__":
    unittest.main()
