"""Checks the SpinKube manifests in deploy/ before they reach a cluster.

  python3 deploy/check.py                       every manifest in deploy/
  python3 deploy/check.py FILE...               these files
  python3 deploy/check.py --crd CRD.yaml ...    against spin-operator's own CRD file instead

Each `SpinApp` is validated against the SpinApp structural schema (deploy/schema/) the way the
Kubernetes API server validates a custom resource: types, required fields, patterns, and no
unknown fields (as `kubectl apply --validate=strict`). Then the rules that schema cannot say:
spin-operator's own (replicas and enableAutoscaling exclude each other), and the app's
(variables that spin.toml declares, a secret variable bound to a Secret rather than written
inline, health checks on the gateway's public probe paths, an autoscaler aimed at the SpinApp's
Deployment). Prints one line per problem and exits 1 if there is any.
"""

import argparse
import re
import sys
import tomllib
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
SCHEMA = DEPLOY / "schema/spinapp-v1alpha1.yaml"
SPINAPP_API = "core.spinkube.dev/v1alpha1"
# Paths the gateway answers without the API key (crates/api/src/auth.rs `is_public`), so a
# kubelet probe needs no credentials.
PROBE_PATHS = {"liveness": "/health", "readiness": "/ready"}
INT32_MAX = 2**31 - 1


def load_schema(crd: Path | None) -> dict:
    """The `openAPIV3Schema` of our schema file, or of a CRD file's v1alpha1 version."""
    if crd is None:
        doc = yaml.safe_load(SCHEMA.read_text())
        return expand(doc["openAPIV3Schema"], doc.get("definitions", {}))
    doc = yaml.safe_load(crd.read_text())
    for version in doc["spec"]["versions"]:
        if version["name"] == "v1alpha1":
            return version["schema"]["openAPIV3Schema"]
    raise SystemExit(f"{crd}: no v1alpha1 version")


def expand(node, definitions: dict):
    """Replaces every `{$ref: name}` by that definition (CRD schemas may not use references)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return expand(definitions[node["$ref"]], definitions)
        return {k: expand(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [expand(v, definitions) for v in node]
    return node


def type_ok(value, schema: dict) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    expected = schema.get("type")
    if expected is None:
        return True
    return {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }[expected](value)


def validate(value, schema: dict, path: str) -> list[str]:
    """Structural-schema validation of `value`; one message per problem, naming its path."""
    if not type_ok(value, schema):
        kind = "int-or-string" if schema.get("x-kubernetes-int-or-string") else schema["type"]
        return [f"{path}: expected {kind}, got {type(value).__name__} {value!r}"]
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: length {len(value)} is out of bounds")
    if isinstance(value, int) and not isinstance(value, bool):
        if value < schema.get("minimum", value):
            errors.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if schema.get("format") == "int32" and value > INT32_MAX:
            errors.append(f"{path}: {value} does not fit int32")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: needs at least {schema['minItems']} item(s)")
        for i, item in enumerate(value):
            errors += validate(item, schema.get("items", {}), f"{path}[{i}]")
    if isinstance(value, dict) and not schema.get("x-kubernetes-preserve-unknown-fields"):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}.{name}: required")
        for name, item in value.items():
            if properties is not None and name in properties:
                errors += validate(item, properties[name], f"{path}.{name}")
            elif isinstance(extra, dict):
                errors += validate(item, extra, f"{path}.{name}")
            elif properties is not None or extra is False:
                errors.append(f"{path}.{name}: unknown field")
    return errors


def spin_variables() -> dict[str, dict]:
    return tomllib.loads((ROOT / "spin.toml").read_text()).get("variables", {})


def spinapp_rules(app: dict, where: str) -> list[str]:
    """What the schema cannot say: spin-operator's admission rules and this app's own."""
    spec, errors = app.get("spec", {}), []
    if spec.get("enableAutoscaling") and "replicas" in spec:
        errors.append(f"{where}: spec.replicas cannot be set when spec.enableAutoscaling is true")
    if spec.get("executor") != "containerd-shim-spin":
        errors.append(f"{where}: spec.executor should be containerd-shim-spin, got {spec.get('executor')!r}")
    declared = spin_variables()
    for var in spec.get("variables", []):
        name = var.get("name")
        if name not in declared:
            errors.append(f"{where}: variable {name!r} is not declared in spin.toml [variables]")
        elif declared[name].get("secret") and "secretKeyRef" not in var.get("valueFrom", {}):
            errors.append(f"{where}: variable {name!r} is a secret: bind it with valueFrom.secretKeyRef")
    for kind, path in PROBE_PATHS.items():
        probe = spec.get("checks", {}).get(kind)
        if probe is None:
            errors.append(f"{where}: spec.checks.{kind} is missing (use {path})")
        elif probe.get("httpGet", {}).get("path") != path:
            errors.append(f"{where}: spec.checks.{kind}.httpGet.path should be {path}, the gateway's public probe")
    return errors


def autoscaler_rules(hpa: dict, apps: dict[str, dict], where: str) -> list[str]:
    """An HPA must scale the Deployment spin-operator makes for an autoscaled SpinApp, on CPU
    (a request runs on one core, so CPU is what fills up)."""
    spec, errors = hpa.get("spec", {}), []
    target = spec.get("scaleTargetRef", {})
    app = apps.get(target.get("name"))
    if (target.get("apiVersion"), target.get("kind")) != ("apps/v1", "Deployment") or app is None:
        return [f"{where}: scaleTargetRef should be the apps/v1 Deployment of a SpinApp in the same file"]
    if not app["spec"].get("enableAutoscaling"):
        errors.append(f"{where}: SpinApp {target['name']} does not set enableAutoscaling: true")
    if "cpu" not in app["spec"].get("resources", {}).get("requests", {}):
        errors.append(f"{where}: SpinApp {target['name']} needs resources.requests.cpu for CPU utilisation")
    if not 1 <= spec.get("minReplicas", 1) <= spec.get("maxReplicas", 0):
        errors.append(f"{where}: needs 1 <= minReplicas <= maxReplicas")
    return errors


def check_file(path: Path, schema: dict) -> list[str]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    apps = {d["metadata"]["name"]: d for d in docs
            if d.get("kind") == "SpinApp" and isinstance(d.get("metadata"), dict) and "name" in d["metadata"]}
    errors = []
    for i, doc in enumerate(docs):
        where = f"{path.name}#{i} {doc.get('kind')}"
        if doc.get("kind") == "SpinApp":
            found = validate(doc, schema, "")
            errors += [f"{where}: {e.lstrip('.')}" for e in found]
            if not found:
                errors += spinapp_rules(doc, where)
        elif doc.get("kind") == "HorizontalPodAutoscaler":
            errors += autoscaler_rules(doc, apps, where)
    if not apps:
        errors.append(f"{path.name}: no SpinApp")
    return errors


def manifests() -> list[Path]:
    return sorted(DEPLOY.glob("*.yaml"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--crd", type=Path, help="spin-operator's core.spinkube.dev_spinapps.yaml")
    args = parser.parse_args()
    schema = load_schema(args.crd)
    errors = [e for f in args.files or manifests() for e in check_file(f, schema)]
    for e in errors:
        print(e)
    if errors:
        sys.exit(1)
    print(f"deploy: {len(args.files or manifests())} manifest file(s) valid")


if __name__ == "__main__":
    main()
