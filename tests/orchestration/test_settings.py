from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.resources import mask_url
from orchestration.settings import SettingsError, load_settings


def test_embedded_default_is_duckdb_offline_dry_run(tmp_path: Path) -> None:
    settings = load_settings({"CRO_DATA_DIR": str(tmp_path)})
    assert settings.env == "local"
    assert settings.warehouse_kind == "duckdb"
    assert settings.duckdb_path == tmp_path / "warehouse.duckdb"
    assert settings.llm_provider == "offline"
    assert settings.outbound_live is False
    assert settings.demo_dir == tmp_path / "demo"


def test_prod_defaults_to_openai_and_live_outbound() -> None:
    settings = load_settings({"CRO_ENV": "prod", "CRO_WAREHOUSE_URL": "postgresql://u:p@db:5432/wh"})
    assert (settings.warehouse_kind, settings.llm_provider, settings.outbound_live) == ("postgres", "openai", True)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CRO_ENV": "staging"}, "CRO_ENV must be"),
        ({"CRO_ENV": "prod"}, "needs CRO_WAREHOUSE_URL"),
        ({"CRO_WAREHOUSE_URL": "mysql://x"}, "must start with duckdb:///"),
        ({"CRO_LLM_PROVIDER": "claude"}, "CRO_LLM_PROVIDER"),
        ({"CRO_OUTBOUND": "maybe"}, "CRO_OUTBOUND"),
    ],
)
def test_bad_configuration_says_what_to_fix(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_credentials_are_reported_by_presence_only() -> None:
    settings = load_settings({"HUBSPOT_ACCESS_TOKEN": "pat-secret-value"})
    assert settings.missing_credentials("hubspot") == []
    assert "pat-secret-value" not in repr(settings)
    assert settings.missing_credentials("slack") == ["SLACK_BOT_TOKEN", "SLACK_CHANNEL"]


def test_mask_url_hides_password() -> None:
    assert mask_url("postgresql://cro:s3cret@db:5432/wh") == "postgresql://cro:***@db:5432/wh"
    assert mask_url("duckdb:////data/warehouse.duckdb") == "duckdb:////data/warehouse.duckdb"
