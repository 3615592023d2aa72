"""The tests' throwaway PostgreSQL server: the product's one implementation, re-exported.

``PostgresServer.start(bindir)`` starts a fast, throwaway server on a free port; ``stop()`` removes it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.local_postgres import PostgresServer, find_bindir, free_port

__all__ = ["PostgresServer", "find_bindir", "free_port", "require_postgres_binaries"]


def require_postgres_binaries() -> Path:
    """The server binaries, or skip the test (fail instead under ``CRO_REQUIRE_POSTGRES=1``, as CI sets)."""
    bindir = find_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CRO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{message}; CRO_REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
        pytest.skip(message)
    return bindir
