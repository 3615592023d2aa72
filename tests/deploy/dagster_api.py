"""The Dagster webserver's GraphQL API, as a deployment's user (or a CI job) drives it."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx

LOCATION, REPOSITORY = "cro", "__repository__"  # the code location of orchestration/topology.py
DONE = ("SUCCESS", "FAILURE", "CANCELED")

LAUNCH_RUN = """
mutation($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on Error { message }
  }
}
"""


def graphql(webserver_url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(f"{webserver_url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def launch_job(webserver_url: str, job_name: str) -> str:
    """Launch a job through ``launchRun``; the run id. With ``dagster-graphql`` installed, through its client."""
    try:
        from dagster_graphql import DagsterGraphQLClient
    except ImportError:
        params = {"selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job_name}}
        result = graphql(webserver_url, LAUNCH_RUN, {"executionParams": params})["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return str(result["run"]["runId"])
    url = urlsplit(webserver_url)
    client = DagsterGraphQLClient(url.hostname or "127.0.0.1", port_number=url.port, timeout=60)
    return client.submit_job_execution(job_name, repository_location_name=LOCATION, repository_name=REPOSITORY)


def run_status(webserver_url: str, run_id: str) -> str:
    query = "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }"
    return str(graphql(webserver_url, query, {"id": run_id})["runOrError"]["status"])


def run_failure(webserver_url: str, run_id: str) -> str:
    """The error messages of a failed run's events, for the assertion message."""
    query = """query($id: ID!) { logsForRun(runId: $id) { __typename ... on EventConnection {
        events { __typename ... on MessageEvent { message } ... on ErrorEvent { error { message } } } } } }"""
    events = graphql(webserver_url, query, {"id": run_id})["logsForRun"].get("events", [])
    return "\n".join(e["error"]["message"] for e in events if e.get("error"))[-4000:]


def wait_for_run(webserver_url: str, run_id: str, timeout: float = 150.0) -> str:
    """Poll until the run is done (queued → started by the daemon → success/failure); its final status."""
    deadline = time.monotonic() + timeout
    while True:
        status = run_status(webserver_url, run_id)
        if status in DONE:
            return status
        assert time.monotonic() < deadline, f"run {run_id} still {status} after {timeout:.0f} s"
        time.sleep(1)


def daemon_statuses(webserver_url: str) -> dict[str, dict[str, Any]]:
    query = "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy lastHeartbeatTime } } } }"
    statuses = graphql(webserver_url, query)["instance"]["daemonHealth"]["allDaemonStatuses"]
    return {s["daemonType"]: s for s in statuses}
