"""Alert sensors: churn above its threshold, WhatsApp opt-outs, failed runs. All start STOPPED.

================================ =================================================================================
sensor                           what it does
================================ =================================================================================
``churn_alert_sensor``           after each materialization of ``marts/fct_churn_monthly``: when the last complete
                                 month's ``logo_churn_rate`` is above :data:`CHURN_ALERT_THRESHOLD`, one
                                 ``churn_alert`` run (a Slack alert, key ``churn-alert:<YYYY-MM>``) and one
                                 ``churn_analysis`` run — at most once per month (run keys and cursor carry it).
``whatsapp_consent_sensor``      every minute: new WhatsApp opt-outs (SAIR/PARAR/STOP) into the consent ledger, so
                                 they hold before any next send. No runs.
``run_failure_alert_sensor``     any failed run of this code location: a Slack alert with the job, the error's
                                 first line and the run's link (key ``run-failure:<run_id>``).
================================ =================================================================================

Every Slack message goes through the outbox (dry run unless ``CRO_OUTBOUND=live`` and Slack credentials).
On DuckDB a run that is writing holds the file: the sensors then skip the tick and say so (the churn sensor
keeps its cursor, so the materialization is looked at again on the next tick).
"""

# no `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime

import json
import re
import warnings
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from orchestration.automation.playbooks import churn_analysis
from orchestration.resources import OutboundResource, WarehouseResource
from orchestration.topology import service
from orchestration.warehouse import warehouse_busy

SAO_PAULO = "America/Sao_Paulo"
#: Logo churn (churned ÷ active at the start of the month) above which the churn alert fires.
CHURN_ALERT_THRESHOLD = 0.08
CHURN_MART = dg.AssetKey(["marts", "fct_churn_monthly"])
SLACK_DEFAULT_CHANNEL = "#cro"
MONTHS_REMEMBERED = 36
_CLASS_PATH = re.compile(r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*: ")
#: Where a person opens a run: the Dagster UI (`make ui`, or the webserver service of a deployment).
WEBSERVER_URL = service("webserver").url("127.0.0.1", service("webserver").port) or "http://127.0.0.1:3000"


def run_url(run_id: str) -> str:
    return f"{WEBSERVER_URL}/runs/{run_id}"


def post_slack(store: Any, outbound: OutboundResource, key: str, text: str, *, run_id: str | None) -> Any:
    """One Slack message through the outbox, keyed ``key`` (sent once, however often this is called)."""
    from integrations.outbound import OutboundMessage
    from orchestration.outbound.outbox import Outbox

    outbox = Outbox(store, files_dir=Path(outbound.files_dir))
    message = OutboundMessage(
        idempotency_key=key,
        channel="slack",
        recipient=outbound.slack_channel or SLACK_DEFAULT_CHANNEL,
        payload={"text": text},
    )
    outbox.enqueue([message], source=key, run_id=run_id)
    return outbox.deliver(outbound.sender("slack"), source=key, run_id=run_id)


# -- churn ----------------------------------------------------------------------------------------------


class ChurnAlertConfig(dg.Config):
    """What the sensor saw (or what to alert about, from the launchpad)."""

    month: str = Field(description="YYYY-MM: the last complete month")
    logo_churn_rate: float
    threshold: float = CHURN_ALERT_THRESHOLD


def churn_alert_text(month: str, rate: float, threshold: float) -> str:
    return (
        f"*Alerta de churn: {100 * rate:.2f}% em {month}* (limite {100 * threshold:.2f}%).\n"
        f"O playbook churn_analysis foi iniciado: análise por coorte e plano de retenção. Acompanhe em {WEBSERVER_URL}"
    )


@dg.op(
    name="post_churn_alert",
    out=dg.Out(dg.Nothing),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
    description="Post the churn alert to Slack through the outbox (once per month: key churn-alert:<YYYY-MM>).",
)
def churn_alert_op(
    context: dg.OpExecutionContext, config: ChurnAlertConfig, warehouse: WarehouseResource, outbound: OutboundResource
) -> dg.Output:
    text = churn_alert_text(config.month, config.logo_churn_rate, config.threshold)
    report = post_slack(warehouse.get(), outbound, f"churn-alert:{config.month}", text, run_id=context.run_id)
    if report.failed_retryable:
        raise dg.Failure(description="the churn alert could not be posted to Slack; the run retries it")
    return dg.Output(None, metadata={"month": config.month, "logo_churn_rate": config.logo_churn_rate, **vars(report)})


@dg.job(
    name="churn_alert",
    description="Slack alert: last complete month's logo churn is above the threshold (launched by the sensor).",
    tags={"cro/kind": "outbound"},
)
def churn_alert() -> None:
    churn_alert_op()


def last_complete_churn(warehouse_url: str) -> tuple[str, float] | None:
    """``(YYYY-MM, logo_churn_rate)`` of the last complete month, read-only; None when the mart has no such month."""
    from agents.sql_tool import SqlTool

    sql = SqlTool(warehouse_url)
    with sql.session():
        if not sql.has_table("marts.fct_churn_monthly"):
            return None
        rows = sql.run(
            "select month, logo_churn_rate from marts.fct_churn_monthly "
            "where is_complete and logo_churn_rate is not null order by month desc limit 1"
        ).rows
    if not rows:
        return None
    month, rate = rows[0]
    return f"{month:%Y-%m}" if hasattr(month, "strftime") else str(month)[:7], float(rate)


@dg.sensor(
    name="churn_alert_sensor",
    jobs=[churn_alert, churn_analysis],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=f"After each materialization of marts/fct_churn_monthly: when the last complete month's logo churn "
    f"is above {CHURN_ALERT_THRESHOLD:.0%}, a churn_alert run (Slack) and a churn_analysis run, once per month.",
)
def churn_alert_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
    """An asset sensor on ``marts/fct_churn_monthly`` with its own cursor.

    The cursor (JSON) holds the last materialization looked at and the months already alerted. Dagster's
    ``@asset_sensor`` keeps only the former and moves it even when the tick could not read the warehouse;
    here a busy DuckDB leaves the cursor where it was, and a second materialization in an alerted month asks
    for nothing.
    """
    state: dict[str, Any] = json.loads(context.cursor) if context.cursor else {}
    after = state.get("after")
    alerted: list[str] = list(state.get("alerted", []))
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=CHURN_MART, after_storage_id=after), limit=1, ascending=False
    ).records
    if not records:
        return dg.SensorResult(skip_reason=f"no new materialization of {CHURN_MART.to_user_string()}")
    latest = records[0].storage_id
    try:
        found = last_complete_churn(warehouse.url)
    except Exception as exc:
        if warehouse_busy(exc):
            return dg.SensorResult(skip_reason=f"warehouse busy (a run is writing it), next tick tries again: {exc}")
        raise
    cursor = json.dumps({"after": latest, "alerted": alerted[-MONTHS_REMEMBERED:]})
    if found is None:
        return dg.SensorResult(skip_reason="marts.fct_churn_monthly has no complete month yet", cursor=cursor)
    month, rate = found
    if rate <= CHURN_ALERT_THRESHOLD:
        return dg.SensorResult(
            skip_reason=f"logo churn {rate:.2%} in {month} is within the threshold ({CHURN_ALERT_THRESHOLD:.2%})",
            cursor=cursor,
        )
    if month in alerted:
        return dg.SensorResult(skip_reason=f"churn of {month} ({rate:.2%}) was alerted already", cursor=cursor)
    tags = {"cro/churn_month": month, "cro/logo_churn_rate": f"{rate:.4f}"}
    requests = [
        dg.RunRequest(
            run_key=f"churn-alert:{month}",
            job_name=churn_alert.name,
            run_config={
                "ops": {
                    "post_churn_alert": {
                        "config": {"month": month, "logo_churn_rate": rate, "threshold": CHURN_ALERT_THRESHOLD}
                    }
                }
            },
            tags=tags,
        ),
        dg.RunRequest(run_key=f"churn-analysis:{month}", job_name=churn_analysis.name, tags=tags),
    ]
    cursor = json.dumps({"after": latest, "alerted": [*alerted, month][-MONTHS_REMEMBERED:]})
    return dg.SensorResult(run_requests=requests, cursor=cursor)


# -- WhatsApp consent -----------------------------------------------------------------------------------


@dg.sensor(
    name="whatsapp_consent_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Every minute: WhatsApp replies SAIR/PARAR/STOP since the last tick into the consent ledger, so an "
    "opt-out holds before any next send. Starts no runs.",
)
def whatsapp_consent_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource) -> dg.SensorResult:
    from orchestration.outbound.consent import ConsentLedger

    try:
        opt_outs, cursor = ConsentLedger(warehouse.get()).sync_whatsapp_inbound(after=context.cursor or None)
    except Exception as exc:
        if warehouse_busy(exc):
            return dg.SensorResult(skip_reason=f"warehouse busy (a run is writing it), next tick tries again: {exc}")
        raise
    cursor = cursor if cursor is not None else context.cursor
    if not opt_outs:
        return dg.SensorResult(skip_reason="no new WhatsApp opt-outs", cursor=cursor)
    context.log.info(f"{opt_outs} new WhatsApp opt-out(s) recorded in the consent ledger")
    return dg.SensorResult(cursor=cursor)


# -- failed runs ----------------------------------------------------------------------------------------


def error_message(error: Any) -> str:
    """A step error as a person reads it: Dagster's step wrapper gives way to its cause, the module path of the
    exception class is dropped (``dagster._core.definitions.events.Failure: …`` → ``…``)."""
    while (
        error is not None
        and getattr(error, "cause", None) is not None
        and ("DagsterExecutionStepExecutionError" in (error.cls_name or "") or "Error occurred while" in error.message)
    ):
        error = error.cause
    if error is None:
        return ""
    return _CLASS_PATH.sub("", error.message.strip())


def _first_line(error: Any) -> str:
    return next((line.strip() for line in error_message(error).splitlines() if line.strip()), "")


def failure_text(context: dg.RunFailureSensorContext) -> str:
    run = context.dagster_run
    errors = [
        _first_line(event.step_failure_data.error)
        for event in context.get_step_failure_events()
        if event.step_failure_data is not None and event.step_failure_data.error is not None
    ]
    reason = next((e for e in errors if e), "") or (context.failure_event.message or "").splitlines()[0]
    return f":x: *{run.job_name}* falhou: {reason}\n{run_url(run.run_id)}"


def _run_failure_alert(
    context: dg.RunFailureSensorContext, warehouse: WarehouseResource, outbound: OutboundResource
) -> None:
    run_id = context.dagster_run.run_id
    try:
        report = post_slack(warehouse.get(), outbound, f"run-failure:{run_id}", failure_text(context), run_id=run_id)
    except Exception as exc:
        if warehouse_busy(exc):  # the run-status cursor stays: this failure is handled again on the next tick
            raise RuntimeError(f"warehouse busy (a run is writing it); the alert for {run_id} is retried") from exc
        raise
    context.log.info(f"failure of {context.dagster_run.job_name} ({run_id}) → Slack: {vars(report)}")


with warnings.catch_warnings():  # Dagster passes its own beta `owners` argument through; nothing of ours is beta
    warnings.simplefilter("ignore", category=dg.BetaWarning)
    run_failure_alert_sensor = dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="A failed run → a Slack alert with the job, the error's first line and the run's link "
        "(once per run: key run-failure:<run_id>).",
    )(_run_failure_alert)


def alert_jobs() -> list[dg.JobDefinition]:
    return [churn_alert]


def alert_sensors() -> list[dg.SensorDefinition]:
    return [churn_alert_sensor, whatsapp_consent_sensor, run_failure_alert_sensor]


__all__ = [
    "CHURN_ALERT_THRESHOLD",
    "WEBSERVER_URL",
    "ChurnAlertConfig",
    "alert_jobs",
    "alert_sensors",
    "churn_alert",
    "churn_alert_sensor",
    "error_message",
    "run_failure_alert_sensor",
    "whatsapp_consent_sensor",
]
