"""A stand-in for grading.services in routing tests: records the call, stores and finishes the
message like a real service would (the real one is built in another issue)."""
from types import SimpleNamespace

from orders.models import InboundStatus
from orders.services.inbox import inbound_finish, inbound_store

calls: list[dict] = []


def grading_submission_process(*, body, channel, sender="", organization=None, grader=None, inbound=None):
    calls.append({"channel": channel, "sender": sender, "organization": organization, "inbound": inbound})
    inbound = inbound or inbound_store(channel=channel, body=body.decode(), sender=sender,
                                       message_type="GradingSubmission", organization=organization)
    inbound_finish(inbound, status=InboundStatus.PROCESSED)
    return SimpleNamespace(inbound=inbound, success=True)
