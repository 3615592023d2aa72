# The project's image: every service of docker-compose.yml except PostgreSQL runs from it
# (code server, webserver, daemon, webhook receiver, docs site; each sets its own command).
#   docker compose build        or        docker build -t cro-ai-agent .
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PATH=/app/.venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    CRO_DATA_DIR=/data

# uv, the version the Makefile bootstraps; then the locked dependencies exactly (uv.lock), like `make install`
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check uv==${UV_VERSION}

WORKDIR /app
# dependencies first: this layer is rebuilt only when pyproject.toml or uv.lock change
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project --compile-bytecode --no-cache
COPY . .
RUN uv sync --locked --no-dev --compile-bytecode --no-cache

# The dbt manifest, prepared at build time (as `make install` does) so the code location never parses
# dbt when it loads; with the postgres target the containers run (no connection is made here).
RUN env $(CRO_WAREHOUSE_URL=postgresql://cro@postgres:5432/warehouse python -m orchestration.dbt_env) \
        dagster-dbt project prepare-and-package --file assets/dbt/project.py

# DAGSTER_HOME: the production deploy/dagster.yaml (PostgreSQL storage, queued runs with concurrency
# limits) and the workspace that points the webserver and the daemon at the code server over gRPC.
RUN python -m orchestration.topology prepare-home "$DAGSTER_HOME"

# Run as an unprivileged user; the named volumes take this ownership when they are created.
RUN useradd --create-home --uid 1000 cro \
    && mkdir -p /data "$DAGSTER_HOME/storage" \
    && chown -R cro /data "$DAGSTER_HOME" /app/dbt_project
USER cro

EXPOSE 3000 4000 8080 8081
CMD ["cro", "--help"]
