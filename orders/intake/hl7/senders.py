"""Who may send HL7 to us: the active HL7 interfaces and their site mappings, read once and
kept for a few seconds so that recognising a sender costs no query per message (an ORM query
costs about as much CPU as the rest of the adapter). A change in the interface settings
reaches a running listener within ``max_age`` seconds."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from organizations.models import HL7Interface, HL7SiteMapping, Organization

from .message import Header

DEFAULT_MAX_AGE = 5.0


@dataclass(frozen=True)
class Sender:
    interface: HL7Interface
    facilities: frozenset[str]
    applications: frozenset[str]
    site_ids: dict[str, str] = field(default_factory=dict)  # code (lower case) -> site local id

    @property
    def organization(self) -> Organization:
        return self.interface.organization

    def accepts(self, header: Header) -> bool:
        facility = {header.sending_facility.lower(), "^".join(header.components(4)).strip().lower()}
        application = {header.sending_application.lower(), "^".join(header.components(3)).strip().lower()}
        return bool(facility & self.facilities) and (not self.applications or bool(application & self.applications))

    def site_for_code(self, code: str) -> str | None:
        return self.site_ids.get(code.strip().lower())


class SenderDirectory:
    """Thread-safe; ``max_age=0`` reads the database for every message."""

    def __init__(self, max_age: float = DEFAULT_MAX_AGE, clock=time.monotonic):
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._senders: list[Sender] = []
        self._read_at: float | None = None

    def sender_for(self, header: Header) -> Sender | None:
        """The first active interface (by id) that accepts this MSH-3/MSH-4."""
        return next((sender for sender in self._current() if sender.accepts(header)), None)

    def _current(self) -> list[Sender]:
        with self._lock:
            now = self._clock()
            if self._read_at is None or now - self._read_at >= self.max_age:
                self._senders = _senders_read()
                self._read_at = now
            return self._senders


def _senders_read() -> list[Sender]:
    interfaces = list(HL7Interface.objects.filter(is_active=True, organization__is_active=True)
                      .select_related("organization").order_by("pk"))
    site_ids: dict[int, dict[str, str]] = {interface.pk: {} for interface in interfaces}
    for interface_id, code, local_id in (HL7SiteMapping.objects.filter(interface__in=interfaces)
                                         .values_list("interface_id", "code", "site__local_id")):
        site_ids[interface_id].setdefault(code.strip().lower(), local_id)
    return [Sender(interface=interface,
                   facilities=frozenset(value.strip().lower() for value in interface.sending_facilities or []),
                   applications=frozenset(value.strip().lower() for value in interface.sending_applications or []),
                   site_ids=site_ids[interface.pk])
            for interface in interfaces]


__all__ = ["Sender", "SenderDirectory"]
