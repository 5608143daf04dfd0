"""A customer's Cloud Direct client: plain redis-py, no Django, no code of ours needed.
Copy this file, or write the same three commands yourself (see docs/integrations/cloud-direct.md):

    XADD  iris:<guid>:orders * type OrderRequest body <json>       (write-only URL)
    XREAD BLOCK 5000 STREAMS iris:<guid>:events <last id>          (read-only URL)
    XREAD BLOCK 5000 STREAMS iris:<guid>:results <last id>         (read-only URL)

The write-only user may run XADD and nothing else: not even PING, so never enable connection
health checks on it (redis-py's ``health_check_interval`` is 0 by default; keep it so).

    client = CloudDirectClient(client_guid="63E3C9EF-...", orders_url="redis://...-writer:...@host:6379/0",
                               events_url="redis://...-reader:...@host:6379/0")
    receipt = client.send_and_wait(order_request_dict, timeout=30)
    if not receipt["Success"]:
        print(receipt["ErrorMessage"])
"""
import json
import time
import uuid
from collections.abc import Iterator

import redis

RECEIPT_TYPES = {"OrderRequest": ("OrderCreationReceipt", "OrderCancelled"), "GradingSubmission": ("GradingReceipt",)}


class CloudDirectClient:
    def __init__(self, *, client_guid: str, orders_url: str, events_url: str):
        guid = str(uuid.UUID(client_guid))  # stream names use the lower-case canonical form
        self.orders_key, self.events_key, self.results_key = (
            f"iris:{guid}:{name}" for name in ("orders", "events", "results"))
        self.writer = redis.Redis.from_url(orders_url, health_check_interval=0)
        self.reader = redis.Redis.from_url(events_url, health_check_interval=0)

    def send(self, message: dict | str, *, type: str = "OrderRequest") -> str:
        """XADD one OrderRequest (or GradingSubmission) and return its stream id. Never pass
        MAXLEN/MINID: trimming the orders stream could drop orders not yet processed."""
        body = message if isinstance(message, str) else json.dumps(message)
        return self.writer.xadd(self.orders_key, {"type": type, "body": body}).decode()

    def last_event_id(self) -> str:
        """Where to start reading to see only events published from now on."""
        newest = self.reader.xrevrange(self.events_key, count=1)
        return newest[0][0].decode() if newest else "0-0"

    def events(self, *, after: str = "0-0", block_ms: int = 5000, stream: str = "events") -> Iterator[tuple[str, dict]]:
        """(stream id, message) pairs after ``after``, blocking up to ``block_ms`` for each new
        batch; stops when a wait brings nothing. Remember the last id to resume later. Events may
        be delivered twice (de-duplicate by TransactionId) and not in Timestamp order."""
        key = self.events_key if stream == "events" else self.results_key
        while True:
            reply = self.reader.xread({key: after}, block=block_ms, count=100)
            if not reply:
                return
            for entry_id, fields in reply[0][1]:
                after = entry_id.decode()
                yield after, json.loads(fields[b"body"])

    def send_and_wait(self, message: dict, *, type: str = "OrderRequest", timeout: float = 30.0) -> dict:
        """Send, then wait for the receipt naming the message's order id (an
        OrderCreationReceipt or OrderCancelled; a GradingReceipt for a GradingSubmission)."""
        after = self.last_event_id()  # before sending, so the receipt cannot be missed
        local_id = _order_local_id(message, type)
        self.send(message, type=type)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            for after, event in self.events(after=after, block_ms=max(int(left * 1000), 1)):
                if event.get("ResultObjectType") in RECEIPT_TYPES[type] and event.get("OrderLocalId") == local_id:
                    return event
                if time.monotonic() > deadline:
                    break
        raise TimeoutError(f"no receipt for order '{local_id}' within {timeout} s")


def _order_local_id(message: dict, type: str):
    """Order.LocalId of an OrderRequest, LocalId of a GradingSubmission (keys in any case)."""
    lowered = {key.lower(): value for key, value in message.items()}
    if type == "OrderRequest":
        lowered = {key.lower(): value for key, value in (lowered.get("order") or {}).items()}
    value = lowered.get("localid")
    return None if value is None else str(value)
