"""sync_crm's outbox channel: HubSpot contact writes in batches of 100, per-contact outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.hubspot.errors import HubSpotApiError
from integrations.hubspot.writeback import ContactChange, HubSpotWriteError, WriteReport
from integrations.outbound import OutboundMessage
from orchestration.automation.crm_job import HubSpotContactSender


@dataclass
class FakeWriter:
    failed: dict[str, str] = field(default_factory=dict)
    down: bool = False
    calls: list[list[ContactChange]] = field(default_factory=list)

    def update(self, changes: list[ContactChange]) -> WriteReport:
        self.calls.append(list(changes))
        if self.down:
            outage = HubSpotApiError("/crm/v3/objects/contacts/batch/update", 503, 5, "Service Unavailable")
            raise HubSpotWriteError(outage, WriteReport(retries=4))
        return WriteReport(updated=len(changes) - len(self.failed), failed=list(self.failed.items()), batches=1)


def message(contact: str) -> OutboundMessage:
    return OutboundMessage(
        idempotency_key=f"crm:{contact}",
        channel="hubspot",
        recipient=contact,
        payload={"properties": {"cro_segment": "vip"}, "previous": {"cro_segment": "loyal"}},
    )


def test_one_batch_call_per_hundred_and_per_contact_outcomes() -> None:
    writer = FakeWriter(failed={"2": "INVALID_OPTION: cro_segment"})
    sender = HubSpotContactSender(writer)
    results = sender.send_batch([message(str(i)) for i in range(5)])
    assert sender.batch_size == 100 and len(writer.calls) == 1 and len(writer.calls[0]) == 5
    assert [r.status for r in results] == ["sent", "sent", "failed_permanent", "sent", "sent"]
    assert results[2].error == "INVALID_OPTION: cro_segment" and results[0].provider_id == "0"


def test_an_outage_is_retryable_and_dry_run_writes_nothing() -> None:
    results = HubSpotContactSender(FakeWriter(down=True)).send_batch([message("1"), message("2")])
    assert {r.status for r in results} == {"failed_retryable"} and results[0].attempts == 5
    dry = HubSpotContactSender(None).send_batch([message("1")])
    assert dry[0].status == "dry_run" and '"cro_segment": "vip"' in (dry[0].rendered or "")
