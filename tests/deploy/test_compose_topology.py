"""``docker-compose.yml`` declares exactly the topology that ``cro prod up`` starts (orchestration/topology.py).

Docker cannot run here, so the compose file is checked structurally: same services, ports, environment
variable names, commands, dependencies and health checks; the wiring between them (the workspace, the
storage, the shared data volume) points at the right places; the Dockerfile builds what the commands need.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestration.settings import PROJECT_ROOT
from orchestration.topology import (
    CONTAINER_DAGSTER_HOME,
    CONTAINER_DATA_DIR,
    CONTAINER_WORKSPACE,
    DATABASES,
    LOCATION_NAME,
    SERVICES,
    WORKSPACE_YAML,
    Service,
    prepare_dagster_home,
)

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
APP_SERVICES = [s for s in SERVICES if s.image is None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _ids(services: list[Service]) -> list[str]:
    return [s.name for s in services]


def test_same_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {s.name for s in SERVICES}


@pytest.mark.parametrize("svc", SERVICES, ids=_ids(list(SERVICES)))
def test_same_ports(compose: dict[str, Any], svc: Service) -> None:
    published = compose["services"][svc.name].get("ports", [])
    if svc.port is None:
        assert published == []
        return
    # "127.0.0.1:${CRO_WEBSERVER_PORT:-3000}:3000": the variable moves the published port, the default is ours
    assert published == [f"127.0.0.1:${{{svc.port_env}:-{svc.port}}}:{svc.port}"]


@pytest.mark.parametrize("svc", SERVICES, ids=_ids(list(SERVICES)))
def test_same_environment_variable_names(compose: dict[str, Any], svc: Service) -> None:
    assert set(compose["services"][svc.name]["environment"]) == set(svc.env)


@pytest.mark.parametrize("svc", APP_SERVICES, ids=_ids(APP_SERVICES))
def test_same_entry_points(compose: dict[str, Any], svc: Service) -> None:
    spec = compose["services"][svc.name]
    assert spec["build"] == "." and spec["image"] == "cro-ai-agent"
    assert spec["command"] == svc.argv(host="0.0.0.0", port=svc.port, workspace=CONTAINER_WORKSPACE)


def test_postgres_service(compose: dict[str, Any]) -> None:
    spec = compose["services"]["postgres"]
    (postgres,) = [s for s in SERVICES if s.name == "postgres"]
    assert spec["image"] == postgres.image
    # the image creates POSTGRES_DB; the entrypoint adds the other database of the topology
    assert spec["environment"]["POSTGRES_DB"] == DATABASES[0] == "dagster"
    assert f"CREATE DATABASE {DATABASES[1]};" in " ".join(spec["entrypoint"])
    assert spec["entrypoint"][-1].endswith("exec docker-entrypoint.sh postgres")


@pytest.mark.parametrize("svc", SERVICES, ids=_ids(list(SERVICES)))
def test_same_dependencies_and_health_checks(compose: dict[str, Any], svc: Service) -> None:
    spec = compose["services"][svc.name]
    depends = spec.get("depends_on", {})
    assert set(depends) == set(svc.depends_on)
    assert all(condition == {"condition": "service_healthy"} for condition in depends.values())
    assert spec["healthcheck"]["test"] == svc.healthcheck()


def test_wiring_between_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    env = {name: spec["environment"] for name, spec in services.items()}
    code_server = next(s for s in SERVICES if s.name == "code-server")
    for name, values in env.items():
        if "DAGSTER_HOME" in values:  # Dagster storage on the postgres service, in its `dagster` database
            assert values["DAGSTER_HOME"] == CONTAINER_DAGSTER_HOME
            assert (values["DAGSTER_PG_HOST"], values["DAGSTER_PG_DB"]) == ("postgres", "dagster")
            assert values["DAGSTER_PG_PORT"] == str(services["postgres"]["healthcheck"]["test"][-1])
        if "CRO_CODE_SERVER_HOST" in values:  # the workspace points at the code server's container port
            assert (values["CRO_CODE_SERVER_HOST"], values["CRO_CODE_SERVER_PORT"]) == ("code-server", "4000")
            assert str(code_server.port) == values["CRO_CODE_SERVER_PORT"]
        if "CRO_DATA_DIR" in values:  # every process that reads CRO_DATA_DIR shares the data volume there
            assert values["CRO_DATA_DIR"] == CONTAINER_DATA_DIR
            assert f"cro-data:{CONTAINER_DATA_DIR}" in services[name]["volumes"], name
        if "CRO_WAREHOUSE_URL" in values:
            assert re.fullmatch(r"postgresql://.+@postgres:5432/warehouse", values["CRO_WAREHOUSE_URL"])
    # the UI reads the compute logs that runs (started by the code server) write
    for name in ("code-server", "webserver"):
        assert f"dagster-storage:{CONTAINER_DAGSTER_HOME}/storage" in services[name]["volumes"]
    assert set(compose["volumes"]) == {"postgres-data", "cro-data", "dagster-storage"}


def test_workspace_points_at_the_code_server(tmp_path: Path) -> None:
    workspace = prepare_dagster_home(tmp_path / "home")
    assert workspace.read_text() == WORKSPACE_YAML
    grpc = yaml.safe_load(WORKSPACE_YAML)["load_from"][0]["grpc_server"]
    assert grpc == {
        "host": {"env": "CRO_CODE_SERVER_HOST"},
        "port": {"env": "CRO_CODE_SERVER_PORT"},
        "location_name": LOCATION_NAME,
    }
    assert (tmp_path / "home" / "dagster.yaml").read_bytes() == (PROJECT_ROOT / "deploy" / "dagster.yaml").read_bytes()


def test_dockerfile_builds_what_the_services_run() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION\s*:=\s*(\S+)", makefile, re.M)
    assert uv_version and f"ARG UV_VERSION={uv_version.group(1)}" in dockerfile  # the Makefile's uv
    assert "uv sync --locked" in dockerfile
    assert "dagster-dbt project prepare-and-package --file assets/dbt/project.py" in dockerfile
    assert f"DAGSTER_HOME={CONTAINER_DAGSTER_HOME}" in dockerfile
    assert "python -m orchestration.topology prepare-home" in dockerfile
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".env", "data", "dbt_project/target"} <= set(ignored)


def test_every_compose_variable_is_in_env_example() -> None:
    referenced = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    example = (PROJECT_ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, re.M))
    assert referenced - listed == set()


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
        return ["docker", "compose"] if plugin.returncode == 0 else None
    return None


def test_compose_config_validates(tmp_path: Path) -> None:
    """``docker-compose config`` (works offline, no daemon needed) accepts the file with the example values."""
    command = _compose_command()
    if command is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    env_file = tmp_path / ".env"
    example = (PROJECT_ROOT / ".env.example").read_text()
    env_file.write_text(example.replace("\nDAGSTER_PG_PASSWORD=\n", "\nDAGSTER_PG_PASSWORD=example\n"))
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
