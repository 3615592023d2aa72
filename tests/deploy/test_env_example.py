"""``.env.example`` lists every variable the platform reads, and the README's Configuration table the same ones."""

from __future__ import annotations

import re

from orchestration.settings import CREDENTIALS, PROJECT_ROOT
from orchestration.topology import service, topology_env_names

EXAMPLE = PROJECT_ROOT / ".env.example"


def example_names() -> dict[str, str]:
    """Name → value of every variable in .env.example, commented-out ones included."""
    return {m[0]: m[1] for m in re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$", EXAMPLE.read_text(), re.M)}


def readme_configuration_names() -> set[str]:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for line in table for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split(" | ")[0])}


def test_every_variable_settings_reads_is_listed() -> None:
    source = (PROJECT_ROOT / "orchestration" / "settings.py").read_text()
    read = set(re.findall(r'"(CRO_[A-Z0-9_]+)"', source)) | {"DAGSTER_HOME"}
    read |= {name for names in CREDENTIALS.values() for name in names}
    assert read - set(example_names()) == set()


def test_every_deployment_variable_is_listed() -> None:
    assert topology_env_names() - set(example_names()) == set()


def test_the_code_server_gets_every_setting() -> None:
    """Runs execute in the code server's processes: it must see every variable settings.py reads."""
    source = (PROJECT_ROOT / "orchestration" / "settings.py").read_text()
    read = {name for name in re.findall(r'"(CRO_[A-Z0-9_]+)"', source)} | {"DAGSTER_HOME"}
    read |= {name for names in CREDENTIALS.values() for name in names}
    assert read - set(service("code-server").env) == set()


def test_readme_configuration_table_lists_the_same_variables() -> None:
    assert readme_configuration_names() == set(example_names())


def test_no_secret_values() -> None:
    values = example_names()
    for name in {name for names in CREDENTIALS.values() for name in names} | {"DAGSTER_PG_PASSWORD"}:
        assert values[name] == "", f"{name} must be empty in .env.example"
