"""Run a job of the code location in-process on the configured instance, so the run shows in the UI."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import dagster as dg

from orchestration.instance import load_instance
from orchestration.settings import load_settings

UI_URL = "http://127.0.0.1:3000"  # `make ui`; in a deployment, the webserver service's address


@dataclass(frozen=True)
class Launched:
    run_id: str
    success: bool
    errors: list[str]
    metadata: dict[str, Any]

    @property
    def url(self) -> str:
        return f"{UI_URL}/runs/{self.run_id}"


def launch_job(
    job_name: str, run_config: dict[str, Any] | None = None, *, tags: dict[str, str] | None = None
) -> Launched:
    """Execute ``job_name`` with ``run_config``; returns the run id, success, step errors and output metadata."""
    from orchestration.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_job_def(job_name)
    run_id = str(uuid.uuid4())
    result = job.execute_in_process(
        instance=load_instance(load_settings()),
        run_config=run_config or {},
        run_id=run_id,
        raise_on_error=False,
        tags={"cro/launched_by": "cli", **(tags or {})},
    )
    errors = [
        f"{event.step_key}: {event.step_failure_data.error.message.strip()}"
        for event in result.all_events
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error
    ]
    metadata: dict[str, Any] = {}
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_OUTPUT and event.step_output_data:
            for name, value in event.step_output_data.metadata.items():
                metadata[name] = getattr(value, "value", value)
    return Launched(run_id, result.success, errors, metadata)


__all__ = ["UI_URL", "Launched", "launch_job"]
