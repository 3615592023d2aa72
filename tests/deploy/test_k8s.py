"""The path to Kubernetes (deploy/k8s/): what can be checked without a cluster, Helm or kubectl.

- ``values.yaml`` validates against the official chart's ``values.schema.json`` (vendored in
  ``deploy/k8s/schema/``), the way ``helm install`` validates it, and against a strict reading of the same
  schema in which a key the chart does not name is an error (Helm would silently ignore it).
- The values agree with the native topology (``orchestration/topology.py``: the code server's command,
  port, location name and environment), with ``deploy/dagster.yaml`` (run queue, storage scheme, telemetry)
  and with the other manifests (ConfigMap, Secret keys, volume claim, webhook); nothing secret is inline.
- ``install.sh`` pins the chart to the installed dagster version and calls helm/kubectl as documented
  (run against stand-ins that record their arguments).
- ``CRO_EXECUTOR=k8s`` loads the definitions with ``k8s_job_executor`` and a config that validates;
  the default stays Dagster's own executor and does not import dagster-k8s.

What Helm itself adds is not run here: rendering the templates and filling in the chart's defaults (its
values.yaml is not vendored, so the schema's ``required`` keywords are not checked; the chart's defaults
supply them).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dagster as dg
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

from orchestration.settings import CREDENTIALS, PROJECT_ROOT, SettingsError, load_settings

K8S = PROJECT_ROOT / "deploy" / "k8s"
SCHEMA_PATH = K8S / "schema" / "values.schema.json"
SCHEMA_SHA256 = "6d9aadb17881f23a96cdc0df89e3c4a5aa65e5b4a010b2eada443f6884c27ee1"
# The chart's schema points Kubernetes object shapes (env, resources, volumes, probes) at this document,
# which Helm downloads; offline they are accepted as they are (the chart's own keys are still checked).
K8S_DEFINITIONS = "https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/v1.19.0/_definitions.json"

# Peak memory from the README's Benchmarks, 1M customers: the full dbt build and HubSpot deals ingestion.
DBT_BUILD_PEAK_BYTES = 4.3e9
INGEST_PEAK_BYTES = 2.3e9

POSTGRES_ENV = {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USERNAME", "DAGSTER_PG_DB"}
CHART_PROVIDED_ENV = {"DAGSTER_HOME", "DAGSTER_PG_PASSWORD"}  # the chart sets these on every Dagster pod
# production reads no demo world; the LLM tuning knobs have defaults (agents/providers.py), set them when needed
DEFAULTED_ENV = {
    "CRO_DEMO_DIR",
    "OPENAI_BASE_URL",
    "CRO_LLM_PRICE_PER_1K_INPUT",
    "CRO_LLM_PRICE_PER_1K_OUTPUT",
    "CRO_LLM_TIMEOUT_S",
    "CRO_LLM_STRUCTURED_OUTPUT",
}


# --- loading -----------------------------------------------------------------------------------------------


def load_yaml(name: str) -> Any:
    return yaml.safe_load((K8S / name).read_text())


def values() -> dict[str, Any]:
    return load_yaml("values.yaml")


def config_map() -> dict[str, Any]:
    return load_yaml("cro-config.yaml")


def secret_keys() -> dict[str, str]:
    """The keys of the Secret `cro-secrets`, from the template (name → the value written there)."""
    pairs = {}
    for line in (K8S / "cro-secrets.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def webhook_manifests() -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all((K8S / "webhook.yaml").read_text()) if doc}


def code_location(vals: Mapping[str, Any]) -> dict[str, Any]:
    deployments = vals["dagster-user-deployments"]["deployments"]
    assert len(deployments) == 1, "one code location, as in the native topology"
    return deployments[0]


def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for child in node.values():
            yield from _refs(child)
    elif isinstance(node, list):
        for child in node:
            yield from _refs(child)


def offline_registry(chart_schema: Mapping[str, Any]) -> Registry:
    """The remote Kubernetes definitions as a local document in which every referenced shape accepts anything."""
    document: dict[str, Any] = {}
    for ref in _refs(chart_schema):
        url, _, pointer = ref.partition("#")
        if url != K8S_DEFINITIONS:
            assert not url, f"unexpected remote reference {ref}"
            continue
        node = document
        for part in pointer.strip("/").split("/"):
            node = node.setdefault(part, {})
    return Registry().with_resource(K8S_DEFINITIONS, Resource.opaque(document))


def strict(chart_schema: Mapping[str, Any]) -> dict[str, Any]:
    """The chart's schema with every object it describes closed: a key it does not name is an error.

    Only objects the chart models itself are closed (not Kubernetes shapes, not maps such as env or
    labels); the ``if``/``then`` branches are left alone, as they describe the same object.
    """
    closed = copy.deepcopy(dict(chart_schema))

    def close(node: Any) -> None:
        if not isinstance(node, dict):
            return
        passthrough = str(node.get("$ref", "")).startswith(K8S_DEFINITIONS)
        if node.get("properties") and not passthrough and node.get("additionalProperties") in (None, True):
            node["additionalProperties"] = False
        for keyword in ("$defs", "properties"):
            for child in node.get(keyword, {}).values():
                close(child)
        for keyword in ("items", "additionalProperties"):
            close(node.get(keyword))
        for keyword in ("anyOf", "oneOf", "allOf"):
            for child in node.get(keyword, []):
                close(child)

    close(closed)
    return closed


# Helm merges the chart's own values.yaml under ours before validating, so it is the chart's defaults that
# satisfy `required`; without them, `required` is not checked here (everything else is).
OverlayValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"required": lambda validator, required, instance, schema: None}
)


def schema_errors(vals: Mapping[str, Any], *, strict_keys: bool = False) -> list[str]:
    chart_schema = schema()
    checked = strict(chart_schema) if strict_keys else chart_schema
    validator = OverlayValidator(checked, registry=offline_registry(chart_schema))
    return sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(vals)
    )


def parse_quantity(quantity: str | int) -> float:
    """A Kubernetes quantity (``2Gi``, ``512Mi``, ``500m``, ``2``) as a number (bytes or cores)."""
    text = str(quantity)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# --- the values against the chart's schema --------------------------------------------------------------


def test_vendored_schema_is_the_recorded_file() -> None:
    digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256, "values.schema.json changed: update deploy/k8s/schema/README.md and SCHEMA_SHA256"
    assert SCHEMA_SHA256 in (K8S / "schema" / "README.md").read_text()
    assert schema()["title"] == "DagsterHelmValues"


def test_values_validate_against_the_chart_schema() -> None:
    assert schema_errors(values()) == []


def test_every_key_in_the_values_is_one_the_chart_knows() -> None:
    assert schema_errors(values(), strict_keys=True) == []


@pytest.mark.parametrize(
    ("mutate", "caught_by_chart_schema"),
    [
        # a misspelt key where the chart closes the object: Helm itself refuses it
        (lambda v: v["runLauncher"]["config"]["k8sRunLauncher"].update(envSecret=[{"name": "x"}]), True),
        (
            lambda v: v["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"].update(maxConcurrentRun=4),
            True,
        ),
        (lambda v: v["dagsterWebserver"].update(replicas=2), True),
        # wrong values
        (lambda v: v["runLauncher"].update(type="K8sLauncher"), True),
        (lambda v: code_location(v).update(port="4000"), True),
        (lambda v: code_location(v)["image"].update(pullPolicy="Sometimes"), True),
        # a misspelt key where the chart is lenient: Helm would ignore it silently, the strict check does not
        (lambda v: code_location(v).update(codeServerArg=["-m", "orchestration.definitions"]), False),
        (lambda v: v["postgresql"].update(postgresqlHostname="db"), False),
        (lambda v: v.update(runLauncherr={"type": "K8sRunLauncher"}), False),
    ],
)
def test_schema_validation_catches_mistakes(mutate, caught_by_chart_schema: bool) -> None:
    broken = values()
    mutate(broken)
    assert bool(schema_errors(broken)) is caught_by_chart_schema
    assert schema_errors(broken, strict_keys=True), "the strict check must catch every one of these"


# --- what the deployment relies on ---------------------------------------------------------------------------


def test_code_location_is_the_native_code_server() -> None:
    from orchestration.topology import CONTAINER_DATA_DIR, LOCATION_NAME, service

    location = code_location(values())
    code_server = service("code-server")
    assert location["name"] == LOCATION_NAME
    assert location["port"] == code_server.port
    assert location["includeConfigInLaunchedRuns"]["enabled"] is True
    assert "dagsterApiGrpcArgs" not in location, "the chart prefers dagsterApiGrpcArgs over codeServerArgs"

    # the chart's command: `dagster code-server start -h 0.0.0.0 -p <port>` + codeServerArgs
    chart_argv = ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", str(location["port"])]
    chart_argv += location["codeServerArgs"]
    native_argv = code_server.argv(host="0.0.0.0", port=code_server.port, workspace="")

    def options(argv: list[str]) -> dict[str, str]:
        assert len(argv[3:]) % 2 == 0, argv
        return dict(zip(argv[3::2], argv[4::2], strict=True))

    assert chart_argv[:3] == native_argv[:3]
    assert options(chart_argv) == options(native_argv)

    data_mounts = [m for m in location["volumeMounts"] if m["name"] == "cro-data"]
    assert [m["mountPath"] for m in data_mounts] == [CONTAINER_DATA_DIR] == [config_map()["data"]["CRO_DATA_DIR"]]


def test_code_server_gets_every_variable_the_native_one_reads() -> None:
    from orchestration.topology import service

    location = code_location(values())
    cm, secrets = config_map(), secret_keys()
    assert [ref["name"] for ref in location["envConfigMaps"]] == [cm["metadata"]["name"]]
    assert [ref["name"] for ref in location["envSecrets"]] == ["cro-secrets"]

    provided = set(cm["data"]) | set(secrets) | CHART_PROVIDED_ENV
    missing = set(service("code-server").env) - provided - DEFAULTED_ENV
    assert not missing, f"the code server in Kubernetes would lack {sorted(missing)}"


def test_every_variable_set_is_a_documented_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 1)]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    webhook_env = {
        e["name"] for e in webhook_manifests()["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    names = set(config_map()["data"]) | set(secret_keys()) | webhook_env
    assert names - documented == set(), "a variable set in deploy/k8s/ that the README's Configuration table lacks"


def test_run_launcher_and_queue_mirror_the_instance_of_the_native_deployment() -> None:
    vals = values()
    instance = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())

    launcher = vals["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert launcher["config"]["k8sRunLauncher"]["loadInclusterConfig"] is True

    coordinator = vals["dagsterDaemon"]["runCoordinator"]
    native = instance["run_coordinator"]
    assert coordinator["enabled"] is True
    assert coordinator["type"] == native["class"] == "QueuedRunCoordinator"
    queued = coordinator["config"]["queuedRunCoordinator"]
    assert queued["maxConcurrentRuns"] == native["config"]["max_concurrent_runs"]
    assert queued["tagConcurrencyLimits"] == native["config"]["tag_concurrency_limits"]
    assert vals["telemetry"]["enabled"] is instance["telemetry"]["enabled"] is False


def test_dagster_storage_is_the_external_postgresql_the_config_map_names() -> None:
    vals = values()
    pg = vals["postgresql"]
    instance = yaml.safe_load((PROJECT_ROOT / "deploy" / "dagster.yaml").read_text())
    assert pg["enabled"] is False
    assert vals["generatePostgresqlPasswordSecret"] is False
    assert vals["global"]["postgresqlSecretName"]
    assert "postgresqlPassword" not in pg
    assert pg["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]

    data = config_map()["data"]
    assert set(data) >= POSTGRES_ENV
    assert (data["DAGSTER_PG_HOST"], data["DAGSTER_PG_USERNAME"], data["DAGSTER_PG_DB"]) == (
        pg["postgresqlHost"],
        pg["postgresqlUsername"],
        pg["postgresqlDatabase"],
    )
    assert int(data["DAGSTER_PG_PORT"]) == pg["service"]["port"]


def test_config_map_settings_load_as_production() -> None:
    data = config_map()["data"]
    environ = {**data, "CRO_WAREHOUSE_URL": "postgresql://cro:x@warehouse:5432/warehouse"}
    settings = load_settings(environ)
    assert settings.env == "prod"
    assert settings.warehouse_kind == "postgres"
    assert settings.whatsapp_landing_dir.is_relative_to(Path(data["CRO_DATA_DIR"]))
    assert load_settings({**environ, "CRO_EXECUTOR": "k8s"}).executor == "k8s"

    location = code_location(values())
    google = next(m for m in location["volumeMounts"] if m["name"] == "google-service-account")
    assert Path(data["GOOGLE_SERVICE_ACCOUNT_FILE"]).parent == Path(google["mountPath"])


def test_shared_volume_is_the_claim_every_writer_mounts() -> None:
    claim = load_yaml("storage.yaml")
    assert claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "code server, runs, steps and webhook share it"
    location = code_location(values())
    webhook_pod = webhook_manifests()["Deployment"]["spec"]["template"]["spec"]
    for volumes in (location["volumes"], webhook_pod["volumes"]):
        data = next(v for v in volumes if v["name"] == "cro-data")
        assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


def test_pods_that_write_the_shared_volume_use_the_image_user_as_group() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    uid = int(re.search(r"--uid (\d+)", dockerfile)[1])
    vals = values()
    run_pod = vals["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["podSpecConfig"]
    webhook_pod = webhook_manifests()["Deployment"]["spec"]["template"]["spec"]
    groups = {
        "code server": code_location(vals)["podSecurityContext"]["fsGroup"],
        "runs and steps": run_pod["securityContext"]["fsGroup"],
        "webhook": webhook_pod["securityContext"]["fsGroup"],
    }
    assert groups == dict.fromkeys(groups, uid)


def test_webhook_runs_the_native_webhook_service() -> None:
    from orchestration.topology import service

    native = service("webhook")
    manifests = webhook_manifests()
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    port = container["ports"][0]["containerPort"]
    assert container["command"] == native.argv(host="0.0.0.0", port=port, workspace="")
    assert port == native.port
    assert container["readinessProbe"]["httpGet"]["path"] == native.health_path
    assert manifests["Service"]["spec"]["selector"] == manifests["Deployment"]["spec"]["selector"]["matchLabels"]

    provided = set(config_map()["data"]) | {e["name"] for e in container["env"]}
    assert set(native.env) - provided - DEFAULTED_ENV == set()
    for entry in container["env"]:
        assert entry["valueFrom"]["secretKeyRef"]["key"] in secret_keys()


def test_resources_hold_the_measured_peaks() -> None:
    from orchestration.definitions import K8S_DBT_STEP_RESOURCES, K8S_STEP_RESOURCES

    run_pod = values()["runLauncher"]["config"]["k8sRunLauncher"]["resources"]
    for resources, peak in (
        (run_pod, DBT_BUILD_PEAK_BYTES),  # with CRO_EXECUTOR=multiprocess a run pod runs the dbt build
        (K8S_DBT_STEP_RESOURCES, DBT_BUILD_PEAK_BYTES),
        (K8S_STEP_RESOURCES, INGEST_PEAK_BYTES),
    ):
        requests, limits = resources["requests"], resources["limits"]
        assert parse_quantity(limits["memory"]) >= peak
        assert parse_quantity(requests["memory"]) <= parse_quantity(limits["memory"])
        assert parse_quantity(requests["cpu"]) <= parse_quantity(limits["cpu"])


# --- no secrets in the repository -------------------------------------------------------------------------

SECRET_NAME = re.compile(r"password|passwd|token|secret|api_?key|credential", re.IGNORECASE)
REFERENCE_KEYS = {"secretName", "postgresqlSecretName", "claimName"}  # names of Kubernetes objects, not values
URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^@\s]+@")


def inline_secrets(node: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if isinstance(node.get("name"), str) and "value" in node and SECRET_NAME.search(node["name"]):
            found.append(f"{path}/{node['name']}")  # an EnvVar with a literal value
        for key, value in node.items():
            here = f"{path}/{key}"
            if isinstance(value, dict | list):
                found += inline_secrets(value, here)
            elif isinstance(value, str) and value:
                named_secret = SECRET_NAME.search(str(key)) and key not in REFERENCE_KEYS
                if named_secret or URL_WITH_PASSWORD.search(value):
                    found.append(here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found += inline_secrets(item, f"{path}/{index}")
    return found


def test_no_secret_is_written_in_the_manifests() -> None:
    for name in ("values.yaml", "cro-config.yaml", "storage.yaml"):
        assert inline_secrets(load_yaml(name)) == [], name
    assert inline_secrets(list(webhook_manifests().values())) == []

    credentials = {name for names in CREDENTIALS.values() for name in names} | {"CRO_WAREHOUSE_URL"}
    in_config_map = set(config_map()["data"]) & credentials
    assert in_config_map <= {"GOOGLE_SERVICE_ACCOUNT_FILE"}, "a path to the mounted key file, not the key"
    assert set(secret_keys()) == credentials - in_config_map
    assert set(secret_keys().values()) == {""}, "the Secret template carries names only"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v["postgresql"].update(postgresqlPassword="hunter2"),
        lambda v: code_location(v).update(env=[{"name": "OPENAI_API_KEY", "value": "sk-live"}]),
        lambda v: code_location(v).update(env={"CRO_WAREHOUSE_URL": "postgresql://cro:pw@db:5432/wh"}),
    ],
)
def test_an_inline_secret_is_caught(mutate) -> None:
    broken = values()
    mutate(broken)
    assert inline_secrets(broken)


# --- the install script --------------------------------------------------------------------------------------

FAKE_TOOL = """#!/bin/sh
echo "$(basename "$0") $*" >> "$FAKE_LOG"
case "$*" in
  "get secret"*) exit "${FAKE_SECRET_RC:-0}" ;;
  *"-f -"*) cat > "$FAKE_STDIN" ;;
esac
exit 0
"""


def run_install(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("helm", "kubectl"):
        (bin_dir / tool).write_text(FAKE_TOOL)
        (bin_dir / tool).chmod(0o755)
    log, stdin = tmp_path / "calls.log", tmp_path / "stdin.yaml"
    environ = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log), "FAKE_STDIN": str(stdin), **env}
    result = subprocess.run(["sh", str(K8S / "install.sh")], env=environ, capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls, stdin


def test_chart_version_is_the_installed_dagster_version() -> None:
    dagster_version = version("dagster")
    script = (K8S / "install.sh").read_text()
    assert re.search(r"^CHART_VERSION=(\S+)", script, re.MULTILINE)[1] == dagster_version
    assert f"--version {dagster_version}" in (K8S / "values.yaml").read_text()
    # dagster-k8s is released with dagster: 0.(minor + 16).patch
    _, minor, patch = dagster_version.split(".")
    assert version("dagster-k8s") == f"0.{int(minor) + 16}.{patch}"


def test_install_script_pins_the_chart_and_sets_the_image(tmp_path: Path) -> None:
    image = "registry.example.com:5000/cro-ai-agent:build-42"
    result, calls, stdin = run_install(tmp_path, IMAGE=image)
    assert result.returncode == 0, result.stderr
    (upgrade,) = [c for c in calls if c.startswith("helm upgrade")]
    assert f"--install cro dagster/dagster --version {version('dagster')} --namespace cro" in upgrade
    assert f"-f {K8S / 'values.yaml'}" in upgrade
    assert "dagster-user-deployments.deployments[0].image.repository=registry.example.com:5000/cro-ai-agent" in upgrade
    assert "dagster-user-deployments.deployments[0].image.tag=build-42" in upgrade
    applied_config = next(i for i, c in enumerate(calls) if "cro-config.yaml" in c)
    assert applied_config < calls.index(upgrade), "the ConfigMap and the claim exist before the chart's pods start"
    webhook = [doc for doc in yaml.safe_load_all(stdin.read_text()) if doc]
    assert webhook[0]["spec"]["template"]["spec"]["containers"][0]["image"] == image


@pytest.mark.parametrize(
    ("env", "code", "message"),
    [
        ({"IMAGE": "registry.example.com:5000/cro-ai-agent"}, 2, "must end in :TAG"),
        ({"IMAGE": "cro-ai-agent:1", "FAKE_SECRET_RC": "1"}, 1, "create it first"),
    ],
)
def test_install_script_stops_before_helm_when_something_is_missing(
    tmp_path: Path, env: dict[str, str], code: int, message: str
) -> None:
    result, calls, _ = run_install(tmp_path, **env)
    assert result.returncode == code
    assert message in result.stderr
    assert not [c for c in calls if c.startswith("helm")]


# --- the executor -------------------------------------------------------------------------------------------


@pytest.fixture
def k8s_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRO_EXECUTOR", "k8s")
    monkeypatch.setenv("CRO_WAREHOUSE_URL", "postgresql://cro:x@warehouse:5432/warehouse")


def test_k8s_executor_loads_in_definitions(k8s_env: None) -> None:
    from dagster._config import process_config
    from dagster_k8s import k8s_job_executor

    from orchestration.definitions import K8S_DBT_STEPS, K8S_EXECUTOR_CONFIG, build_definitions
    from orchestration.jobs import all_jobs

    assert process_config(k8s_job_executor.config_schema.config_type, K8S_EXECUTOR_CONFIG).success

    defs = build_definitions()
    # a job that names its own executor keeps it (orchestration/jobs.py); every other one gets the setting's
    own_executor = {job.name for job in all_jobs() if job.executor_def is not None}
    jobs = [job for job in defs.resolve_all_job_defs() if job.name not in own_executor]
    assert {job.name for job in jobs} >= {"daily_refresh", "__ASSET_JOB"}
    for job in jobs:
        assert job.executor_def.name == "k8s", job.name
        assert job.executor_def.executor_creation_fn is k8s_job_executor.executor_creation_fn
        dg.validate_run_config(job)  # resolves the configured executor config against k8s_job_executor's schema

    steps = {node.name for node in defs.resolve_job_def("daily_refresh").graph.node_defs}
    assert set(K8S_DBT_STEPS) <= steps, "per-step resources must name steps that exist"


def test_a_broken_executor_config_fails_validation() -> None:
    from dagster_k8s import k8s_job_executor

    @dg.op
    def noop() -> None: ...

    @dg.job(executor_def=k8s_job_executor.configured({"max_concurent": 4}, name="k8s"))
    def broken() -> None:
        noop()

    with pytest.raises(dg.DagsterInvalidConfigError, match="max_concurent"):
        dg.validate_run_config(broken)


def test_default_executor_is_dagsters_own_and_does_not_import_dagster_k8s() -> None:
    code = (
        "import sys\n"
        "from orchestration.definitions import defs\n"
        "print(defs.resolve_job_def('daily_refresh').executor_def.name, 'dagster_k8s' in sys.modules)\n"
    )
    environ = {k: v for k, v in os.environ.items() if k != "CRO_EXECUTOR"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["multi_or_in_process_executor", "False"]


def test_executor_setting() -> None:
    from orchestration.definitions import build_executor

    assert load_settings({}).executor == "multiprocess"
    assert load_settings({"CRO_EXECUTOR": ""}).executor == "multiprocess"
    assert build_executor(load_settings({})) is None
    assert build_executor(load_settings({"CRO_EXECUTOR": "in_process"})) is dg.in_process_executor
    with pytest.raises(SettingsError, match="CRO_EXECUTOR must be one of"):
        load_settings({"CRO_EXECUTOR": "celery"})
    with pytest.raises(SettingsError, match="warehouse must be a server"):
        load_settings({"CRO_EXECUTOR": "k8s"})  # the default DuckDB file cannot be shared between pods
