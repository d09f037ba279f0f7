"""deploy/check.py on the shipped manifests (valid) and on deploy/invalid/ (each `NAME.yaml`
must be rejected with the text in `NAME.err`, and with nothing else).

  python3 -m unittest discover -s deploy
"""

import unittest

import check


class ManifestsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.schema = check.load_schema(None)

    def test_shipped_manifests_are_valid(self) -> None:
        files = check.manifests()
        self.assertEqual({f.name for f in files}, {"spinapp.yaml", "spinapp-autoscaling.yaml"})
        for path in files:
            with self.subTest(path.name):
                self.assertEqual(check.check_file(path, self.schema), [])

    def test_autoscaled_app_has_an_autoscaler(self) -> None:
        docs = check.yaml.safe_load_all((check.DEPLOY / "spinapp-autoscaling.yaml").read_text())
        self.assertEqual([d["kind"] for d in docs], ["SpinApp", "HorizontalPodAutoscaler"])

    def test_invalid_manifests_are_rejected_for_their_reason(self) -> None:
        cases = sorted((check.DEPLOY / "invalid").glob("*.yaml"))
        self.assertGreaterEqual(len(cases), 10)
        for path in cases:
            with self.subTest(path.name):
                expected = path.with_suffix(".err").read_text().strip()
                errors = check.check_file(path, self.schema)
                self.assertEqual(len(errors), 1, errors)
                self.assertIn(expected, errors[0])

    def test_references_are_expanded(self) -> None:
        probe = self.schema["properties"]["spec"]["properties"]["checks"]["properties"]["readiness"]
        self.assertEqual(probe["properties"]["httpGet"]["required"], ["path"])
        self.assertNotIn("$ref", str(self.schema))


if __name__ == "__main__":
    unittest.main()
