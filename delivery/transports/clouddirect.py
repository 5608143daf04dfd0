"""The Cloud Direct results stream: a thin adapter over
``orders.intake.clouddirect.publisher.results_stream_publish``, which XADDs the OrderResult JSON
to the organization's results stream (``iris:<client guid>:results``) on the portal's Redis.

No ResultsDeliveryReceipt is emitted for this stream itself (EventsObject.md). The endpoint's
"send test" checks that the broker answers instead of publishing a sample: the customer's
consumers would otherwise receive a fake result.
"""
from __future__ import annotations

import json
import re

import redis

from orders.intake.clouddirect.broker import broker_client, stream_keys
from orders.intake.clouddirect.publisher import results_stream_publish

from .base import DeliveryPayload, DeliveryReceipt, DocumentKind, Transport, TransportError

# Error replies no retry can change (also when wrapped in a pipeline's "Command # 1 ... caused error").
_PERMANENT_REPLIES = re.compile(r"\b(NOPERM|WRONGTYPE|NOAUTH|WRONGPASS)\b")


class CloudDirectTransport(Transport):
    kind = "clouddirect"
    label = "Cloud Direct results stream"
    delivery_type = "CloudDirect"
    default_document_kind = DocumentKind.JSON
    emits_receipt = False

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        key = self._stream(payload)
        if payload.document_kind != DocumentKind.JSON:
            raise TransportError("the results stream carries the JSON result: set the endpoint's payload to JSON",
                                 permanent=True)
        try:
            result = json.loads(payload.content)
        except ValueError:
            raise TransportError("the result is not valid JSON", permanent=True) from None
        try:
            entry_id = results_stream_publish(payload.client_guid, result)
        except redis.RedisError as exc:
            raise _redis_error(exc) from None
        return self.receipt(key, remote_id=entry_id)

    def test_send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        key = self._stream(payload)
        try:
            broker_client().ping()
        except redis.RedisError as exc:
            raise _redis_error(exc) from None
        return self.receipt(key, detail="the broker answered; no sample was published to the stream")

    @staticmethod
    def _stream(payload: DeliveryPayload) -> str:
        try:
            return stream_keys(payload.client_guid).results
        except ValueError:
            raise TransportError("the organization has no valid ClientGuid for its results stream",
                                 permanent=True) from None


def _redis_error(exc: redis.RedisError) -> TransportError:
    if isinstance(exc, redis.AuthenticationError) or _PERMANENT_REPLIES.search(str(exc)):
        return TransportError(f"the results broker refused the write: {exc}", permanent=True)
    return TransportError(f"the results broker is unavailable: {exc}")
