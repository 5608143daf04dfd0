"""Many OrderRequests at once (bulk intake: CSV/XLSX files) under the rules of the one order
service, at bulk-database speed.

Why it exists: ``order_request_process`` costs a handful of queries per request (~500 requests/s);
a 100,000-row file needs bulk work. The batch runs the same code of
``orders.services.order_request`` for every request, in order: the canonical parsing, the
organization check, ``_check_subscribed``, ``_site_for``, ``_exam_state`` (R7),
``_provider_data``, ``_check_same_patient`` and the duplicate rule (R6), ``_demographics``,
``_apply_order_fields``, ``patient_build``/``patient_apply`` (R3/R4). What differs is only where
the rows come from and go to: patients, orders and open exams of a run are read with a few
queries, decided on in memory in request order (a later row sees what an earlier one did), then
written with bulk inserts (COPY on PostgreSQL). R5 stays a database constraint: closed exams are
updated before new open ones are inserted.

Requests it does not speed up (XO, CA, ResendResult, requests with a camera or images, sites that
would be created) go to ``order_request_process`` itself in their turn, after the rows before
them are written, so the outcome is that of one-by-one processing. A constraint race with a
concurrent writer rolls the run back and replays it one by one through the service (which
retries). tests/orders/test_import_batch.py checks both paths give the same orders, patients,
events and errors."""
import datetime as dt
import json
import logging
import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, router, transaction
from django.db.models import DateField, DateTimeField, JSONField
from django.db.models.base import ModelState
from django.utils import timezone

from iris_portal.fast_models import instance_from_db, plain_model
from organizations.models import Organization
from organizations.selectors import site_by_local_id
from organizations.services import providers_upsert
from patients.models import Patient
from patients.services import patient_apply, patient_build, patient_choose

from ..canonical import EventType, FieldError, OrderRequest, RequestRejected, field_errors_parse, parse_order_request
from ..models import OPEN_STATUSES, InboundMessage, InboundStatus, Order, OrderEvent, OrderExam, OrderStatus
from ..reference import OrderControlCode
from .events import events_record, order_event
from .inbox import inbound_finish, inbound_finish_many
from .order_request import (
    DUPLICATE_WARNING, _apply_order_fields, _check_same_patient, _check_subscribed, _Context, _demographics,
    _exam_state, organization_for_request, _provider_data, _site_for, _source, order_request_process,
    superseded_warning,
)

logger = logging.getLogger(__name__)

CREATED, UPDATED, FAILED = "created", "updated", "failed"


@dataclass
class BatchResult:
    """What became of one request: ``created`` (a new order), ``updated`` (an existing order was
    changed, cancelled, resent, or recognised as a duplicate submission), or ``failed``."""

    key: Any
    outcome: str
    errors: list[FieldError] = field(default_factory=list)
    order_id: int | None = None


@dataclass
class _Item:
    key: Any
    body: dict | OrderRequest
    request: OrderRequest | None
    errors: list[FieldError]
    inbound: InboundMessage | None = None  # the message's own inbox row (stream channels)
    processed_alone: bool = False  # went through order_request_process, which finished its row
    # What the rules derive from the request alone, worked out by ``prepare`` (no database):
    # ``_provider_data``'s answer (or its rejection) and warnings, ``_demographics``.
    providers: list | RequestRejected | None = None
    provider_warnings: list[str] = field(default_factory=list)
    demographics: Any = None

    def derive(self) -> "_Item":
        request = self.request
        if request is not None:
            scratch = _Context(organization=None, request=request, source="")
            try:
                self.providers = _provider_data(scratch)
            except RequestRejected as exc:
                self.providers = exc
            self.provider_warnings = scratch.warnings
            self.demographics = _demographics(request.patient)
        return self

    def provider_data(self, ctx: _Context) -> list:
        """``_provider_data(ctx)``, from what ``derive`` worked out (every item with a request
        comes from ``prepare``): the same rejection, the same warnings added to the context's."""
        if isinstance(self.providers, RequestRejected):
            raise self.providers
        for warning in self.provider_warnings:
            if warning not in ctx.warnings:
                ctx.warnings.append(warning)
        return self.providers


class OrderBatch:
    """One organization's stream of OrderRequests. Call ``process`` per chunk (each in its own
    transaction, with the chunk's raw text already stored as ``inbound``, R11)."""

    def __init__(self, *, organization: Organization, channel: str, sender: str = "", actor=None):
        self.organization = organization
        self.channel = channel
        self.source = _source(channel)
        self.sender = sender
        self.actor = actor
        self.departments: dict = {}  # shared by every request of the batch (see _Context)
        self._guid_spellings: set[str] = set()  # ClientGuid texts already checked to be this organization
        self.replayed = 0  # bulk runs that had to be replayed one by one (races, bugs): should stay 0
        # Called before a request goes through the order service alone (which may read or change
        # anything): an import settles the previous chunk's COMMIT there (CommitBehind.settle).
        self.before_alone: Callable[[], None] | None = None

    def process(self, items: list[tuple[Any, dict]], *, inbound: InboundMessage) -> list[BatchResult]:
        return self.process_prepared([self.prepare(key, body) for key, body in items], inbound=inbound)

    def process_prepared(self, items: list["_Item"], *, inbound: InboundMessage) -> list[BatchResult]:
        """``process`` for requests already through ``prepare`` (which needs no database: an
        import prepares the next chunk while PostgreSQL writes this one)."""
        with transaction.atomic():
            results = self._run(items, inbound)
            failed = sum(1 for result in results if result.outcome == FAILED)
            status = InboundStatus.REJECTED if results and failed == len(results) else InboundStatus.PROCESSED
            inbound_finish(inbound, status=status, organization=self.organization,
                           error=f"{failed} of {len(results)} requests rejected" if failed else "")
        return results

    def process_messages(self, messages: list[tuple[Any, dict | OrderRequest, InboundMessage]]) -> list[BatchResult]:
        """Messages of a stream channel (Cloud Direct entries, HL7 frames), each already stored
        in its own inbox row (R11) in the caller's transaction: one bulk run for many
        messages, each message's events and final status on its own row, exactly as if
        ``order_request_process(inbound=...)`` had handled them one after the other."""
        with transaction.atomic():
            items = []
            for key, body, inbound in messages:
                item = self.prepare(key, body)
                item.inbound = inbound
                items.append(item)
            results = self._run(items, None)
            inbound_bulk_finish(list(zip(items, results, strict=True)), organization=self.organization)
        return results

    def _run(self, items: list[_Item], inbound: InboundMessage | None) -> list[BatchResult]:
        results: list[BatchResult] = []
        run: list[_Item] = []
        for item in items:
            if item.request is not None and not self._fast(item.request):
                results += self._flush(run, inbound)
                run = []
                results.append(self._one(item))
            else:
                run.append(item)
        results += self._flush(run, inbound)
        return results

    # -- classification ----------------------------------------------------------------------

    @staticmethod
    def prepare(key, body: dict | OrderRequest) -> _Item:
        """The request parsed (canonical OrderRequest) or its errors, and what the rules derive
        from the request alone: pure Python, no database."""
        if isinstance(body, OrderRequest):  # built by a channel adapter: the service's requirements apply
            errors = body.required_errors()
            return _Item(key, body, None if errors else body, errors).derive()
        try:
            return _Item(key, body, parse_order_request(body), []).derive()
        except RequestRejected as exc:
            return _Item(key, body, None, exc.errors)

    def _fast(self, request: OrderRequest) -> bool:
        """New orders without images at a site that exists (or will be refused). A camera
        without images is fine: its device is looked up (or added) while the orders are built."""
        if request.order_control_code != OrderControlCode.NEW or (request.camera is not None and request.camera.images):
            return False
        org = self.organization
        return not (org.allow_site_autocreate and site_by_local_id(org, request.site.local_id) is None)

    # -- one by one, through the order service -----------------------------------------------

    def _one(self, item: _Item) -> BatchResult:
        if self.before_alone is not None:
            self.before_alone()
        outcome = order_request_process(body=item.body, channel=self.channel, sender=self.sender,
                                        organization=self.organization, actor=self.actor, inbound=item.inbound)
        item.processed_alone = True
        if not outcome.success:
            return BatchResult(item.key, FAILED, field_errors_parse(outcome.error))
        request = item.request
        duplicate = any(DUPLICATE_WARNING in (event.get("Warnings") or []) for event in outcome.events)
        created = request is not None and request.order_control_code == OrderControlCode.NEW and not duplicate
        return BatchResult(item.key, CREATED if created else UPDATED, order_id=outcome.order.pk if outcome.order else None)

    # -- in bulk -----------------------------------------------------------------------------

    def _flush(self, run: list[_Item], inbound: InboundMessage) -> list[BatchResult]:
        if not run:
            return []
        try:
            with transaction.atomic():
                return self._apply(run, inbound)
        except IntegrityError:
            logger.info("inbound %s: constraint race in a bulk run of %d; replaying one by one",
                        _inbound_label(run, inbound), len(run))
        except Exception:  # noqa: BLE001 - never lose a chunk to a bug in the fast path
            logger.exception("inbound %s: bulk run of %d failed; replaying one by one",
                             _inbound_label(run, inbound), len(run))
        self.replayed += 1
        return [self._one(item) for item in run]

    def _apply(self, run: list[_Item], inbound: InboundMessage) -> list[BatchResult]:
        org = self.organization
        state = _State.load(org, [item.request for item in run if item.request is not None])
        decisions: list[_Decision] = []
        providers: dict[str, Any] = {}
        for item in run:
            decision = _Decision(item)
            decisions.append(decision)
            if item.request is None:
                continue
            req = item.request
            ctx = _Context(organization=org, request=req, source=self.source, departments=self.departments)
            decision.ctx = ctx
            try:
                self._check_organization(req)
                _check_subscribed(org, req.order.evaluation_types)
                site = _site_for(ctx)
                exam_state = _exam_state(req, site)
                provider_data = item.provider_data(ctx)
                patient = state.patient_find(site, req.patient.local_id)
                existing = state.orders.get(req.order.local_id)
                if existing is not None:
                    _check_same_patient(req, same=patient is not None and state.same_patient(existing, patient))
            except RequestRejected as exc:
                item.errors = exc.errors
                decision.ctx = None
                continue
            _providers_fold(providers, provider_data)
            if existing is not None:
                decision.order, decision.duplicate = existing, True
                continue
            demographics = item.demographics
            if patient is None:
                patient = state.patient_add(patient_build(organization=org, site=site, local_id=req.patient.local_id,
                                                          demographics=demographics, new=_new_patient))
            else:
                state.patient_change(patient, patient_apply(patient=patient, demographics=demographics))
            types = req.order.evaluation_types
            decision.cancelled = state.supersede(patient, types)
            order = _new_order(organization=org, patient=patient, site=site, local_id=req.order.local_id,
                               evaluation_types=types, state=exam_state, source=self.source)
            decision.order, decision.site = order, site
            state.order_add(order, patient, types)
        return self._write(decisions, state, providers, inbound)

    def _check_organization(self, req: OrderRequest) -> None:
        """The service's organization check (ClientGuid), without a query when it matches."""
        guid = req.client_guid
        if guid not in self._guid_spellings:
            try:
                same = uuid.UUID(guid) == self.organization.client_guid
            except ValueError:
                same = False
            if same and self.organization.is_active:
                self._guid_spellings.add(guid)
                return
            organization_for_request(req, self.organization)

    def _write(self, decisions: list["_Decision"], state: "_State", providers: dict, inbound) -> list[BatchResult]:
        known = providers_upsert(list(providers.values())) if providers else {}
        state.write_patients()
        state.write_cancellations()
        new_orders = []
        for decision in decisions:
            if decision.order is not None and not decision.duplicate:
                order, ctx = decision.order, decision.ctx
                order.__dict__["patient_id"] = order.patient.pk  # inserted above (the cached object stays)
                _apply_order_fields(ctx, order, known, decision.site)
                order.warnings = ctx.warnings
                new_orders.append(order)
        rows_insert(Order, new_orders)
        values_insert(OrderExam, [{"id": None, "order_id": order.pk, "patient_id": order.patient_id,
                                   "evaluation_type": code, "is_open": order.is_open}
                                  for order in new_orders for code in order.evaluation_types])
        events, results, inbounds = [], [], []
        for decision in decisions:
            item = decision.item
            results.append(self._decision_events(decision, events))
            inbounds += [item.inbound or inbound] * (len(events) - len(inbounds))
        events_record(organization=self.organization, events=events, inbounds=inbounds, actor=self.actor,
                      insert=lambda rows: values_insert(OrderEvent, rows))
        return results

    @staticmethod
    def _decision_events(decision: "_Decision", events: list) -> BatchResult:
        """Append the events the service would emit for this request; its result."""
        item = decision.item
        if item.errors:
            events.append(_rejection(item))
            return BatchResult(item.key, FAILED, item.errors)
        order = decision.order
        if decision.duplicate:
            events.append(order_event(EventType.ORDER_CREATION_RECEIPT, order, warnings=[DUPLICATE_WARNING]))
            return BatchResult(item.key, UPDATED, order_id=order.pk)
        for older in decision.cancelled:
            events.append(order_event(EventType.ORDER_CANCELLED, older,
                                      warnings=[superseded_warning(item.request.order.local_id)]))
        events.append(order_event(EventType.ORDER_CREATION_RECEIPT, order, warnings=decision.ctx.warnings))
        return BatchResult(item.key, CREATED, order_id=order.pk)


@dataclass
class _Decision:
    item: _Item
    ctx: _Context | None = None
    order: Order | None = None
    site: Any = None
    duplicate: bool = False
    cancelled: list = field(default_factory=list)


def _rejection(item: _Item) -> tuple:
    """The service's rejection receipt (OrderCreationReceipt, Success false, the error)."""
    request = item.request
    return order_event(
        EventType.ORDER_CREATION_RECEIPT, None, success=False, error=RequestRejected(item.errors).message,
        order_local_id=request.order.local_id if request and request.order else None,
        patient_local_id=request.patient.local_id if request and request.patient else None,
    )


def _providers_fold(merged: dict, data: list) -> None:
    """Providers of successive requests: later non-blank details win, as successive upserts do."""
    for item in data:
        known = merged.get(item.npi)
        if known is None:
            merged[item.npi] = item
            continue
        for name in type(item).__slots__[1:]:
            if getattr(item, name):
                setattr(known, name, getattr(item, name))


# What the rules read of an existing order (duplicates, R6 cancellation, its events).
_ORDER_FIELDS = ("organization_id", "patient_id", "site_id", "local_id", "evaluation_types", "status", "created_at")


class _State:
    """The run's view of the database: patients, orders by local id and open exam slots, as
    loaded at the start and changed by each request in turn."""

    def __init__(self, organization: Organization):
        self.organization = organization
        self.patients: dict = {}  # (site id, MRN) -> Patient, or MRN -> [Patient] when patients float
        self.orders: dict[str, Order] = {}
        self.slots: dict[tuple[int, str], Order] = {}  # (id(patient), evaluation type) -> open order
        self.new_patients: list[Patient] = []
        self.changed_patients: dict[int, tuple[Patient, set]] = {}
        self.cancelled_existing: list[Order] = []
        self._sequence = 0

    @classmethod
    def load(cls, organization: Organization, requests: list[OrderRequest]) -> "_State":
        state = cls(organization)
        requests = [r for r in requests if r.order_control_code == OrderControlCode.NEW]
        # Patients are locked like patient_find(for_update=True), and ordered like its candidates.
        if organization.patients_float:
            patients = _select(Patient, keys={"local_id": [r.patient.local_id for r in requests]},
                               where={"organization_id": organization.pk}, order_by="last_name, first_name, id",
                               lock=True)
        else:
            pairs = [(site.pk, r.patient.local_id) for r in requests
                     if (site := site_by_local_id(organization, r.site.local_id))]
            patients = _select(Patient, keys={"site_id": [p[0] for p in pairs], "local_id": [p[1] for p in pairs]},
                               order_by="last_name, first_name, id", lock=True)
        by_pk = {}
        for patient in patients:
            by_pk[patient.pk] = patient
            if organization.patients_float:
                state.patients.setdefault(patient.local_id, []).append(patient)
            else:
                state.patients[(patient.site_id, patient.local_id)] = patient
        orders = _select(Order, keys={"local_id": [r.order.local_id for r in requests]},
                         where={"organization_id": organization.pk}, only=_ORDER_FIELDS)
        missing = {order.patient_id for order in orders} - by_pk.keys()
        owners = {p.pk: p for p in _select(Patient, keys={"id": list(missing)})}
        for order in orders:
            order.patient = by_pk.get(order.patient_id) or owners[order.patient_id]
            state.orders[order.local_id] = order
        exam_types: dict[int, list[str]] = {}
        for exam in _select(OrderExam, keys={"patient_id": list(by_pk)}, where={"is_open": True}, per_key=True):
            exam_types.setdefault(exam.order_id, []).append(exam.evaluation_type)
        for order in _select(Order, keys={"id": list(exam_types)}, where={"status": set(OPEN_STATUSES)},
                             order_by="created_at, id", lock=True, only=_ORDER_FIELDS):
            order.patient = by_pk[order.patient_id]
            for code in exam_types[order.pk]:
                state.slots[(id(order.patient), code)] = order
        return state

    def patient_find(self, site, local_id: str) -> Patient | None:
        """patient_find's rule (R3/R4) over the loaded and new patients."""
        if not self.organization.patients_float:
            return self.patients.get((site.pk, local_id))
        return patient_choose(self.patients.get(local_id) or [], site=site)

    def patient_add(self, patient: Patient) -> Patient:
        if self.organization.patients_float:
            self.patients.setdefault(patient.local_id, []).append(patient)
        else:
            self.patients[(patient.site_id, patient.local_id)] = patient
        self.new_patients.append(patient)
        return patient

    def patient_change(self, patient: Patient, changed: list[str]) -> None:
        if changed and patient.pk is not None:
            self.changed_patients.setdefault(patient.pk, (patient, set()))[1].update(changed)

    @staticmethod
    def same_patient(order: Order, patient: Patient) -> bool:
        return order.patient is patient or (patient.pk is not None and order.patient_id == patient.pk)

    def supersede(self, patient: Patient, types: list[str]) -> list[Order]:
        """R6: cancel the patient's open orders of these evaluation types (newest first, as the
        service lists them); returns them."""
        older = {id(order): order for code in types if (order := self.slots.get((id(patient), code)))}
        if not older:
            return []
        cancelled = sorted(older.values(), reverse=True, key=lambda o: (
            getattr(o, "_batch_sequence", 0), o.created_at.timestamp() if o.created_at else 0, o.pk or 0))
        now = timezone.now()
        for order in cancelled:
            order.status, order.cancelled_at = OrderStatus.CANCELLED, now
            for code in order.evaluation_types:
                if self.slots.get((id(patient), code)) is order:
                    del self.slots[(id(patient), code)]
            if order.pk is not None:
                order.updated_at = now
                self.cancelled_existing.append(order)
        return cancelled

    def order_add(self, order: Order, patient: Patient, types: list[str]) -> None:
        self._sequence += 1
        order._batch_sequence = self._sequence
        self.orders[order.local_id] = order
        for code in types:
            self.slots[(id(patient), code)] = order

    def write_patients(self) -> None:
        rows_insert(Patient, self.new_patients)
        if self.changed_patients:
            now = timezone.now()
            fields = set().union(*(names for _, names in self.changed_patients.values()))
            patients = [patient for patient, _ in self.changed_patients.values()]
            for patient in patients:
                patient.updated_at = now
            Patient.objects.bulk_update(patients, [*sorted(fields), "updated_at"], batch_size=500)

    def write_cancellations(self) -> None:
        """Close the superseded existing orders before new open exams are inserted (R5)."""
        if not self.cancelled_existing:
            return
        now = timezone.now()
        ids = [order.pk for order in self.cancelled_existing]
        Order.objects.filter(pk__in=ids).update(status=OrderStatus.CANCELLED, cancelled_at=now, updated_at=now)
        OrderExam.objects.filter(order_id__in=ids).update(is_open=False)


# ---------------------------------------------------------------------------------------------


class _Builder:
    """New model instances without ``Model.__init__`` (8-17 µs each for these wide models, a
    tenth of a bulk import's Python time): the instance dict is filled as ``__init__`` would
    fill it (field defaults, then the given values; related objects as the descriptor sets them:
    id + cache). Models with init signals or field descriptors that act on assignment get
    ``__init__`` itself."""

    def __init__(self, model):
        fields = model._meta.concrete_fields
        self.model = model
        self.fixed = {f.attname: f.get_default() for f in fields if not (f.has_default() and callable(f.default))}
        self.made = [(f.attname, f.get_default) for f in fields if f.has_default() and callable(f.default)]
        self.attnames = {f.attname for f in fields}
        self.relations = {f.name: f for f in fields if f.is_relation}
        self.plain = plain_model(model)

    def __call__(self, **values):
        if not self.plain:
            return self.model(**values)
        obj = self.model.__new__(self.model)
        data = obj.__dict__
        data["_state"] = state = ModelState()
        data.update(self.fixed)
        for name, make in self.made:
            data[name] = make()
        for name, value in values.items():
            model_field = self.relations.get(name)
            if model_field is not None:
                data[model_field.attname] = value.pk if value is not None else None
                model_field.set_cached_value(obj, value)
                if value is not None:  # as ForwardManyToOneDescriptor.__set__ does
                    if state.db is None:
                        state.db = _db_for_write(self.model, value)
                    if value._state.db is None:
                        value._state.db = _db_for_write(value.__class__, obj)
            elif name in self.attnames:
                data[name] = value
            else:
                raise TypeError(f"{self.model.__name__}: unexpected field {name!r}")
        return obj


def _db_for_write(model, instance) -> str:
    """``router.db_for_write(model, instance=instance)``; without routers, what it answers
    (the instance's database, else the default) without its per-call machinery."""
    if router.routers:
        return router.db_for_write(model, instance=instance)
    return instance._state.db or DEFAULT_DB_ALIAS


_new_order = _Builder(Order)
_new_patient = _Builder(Patient)


def _select(model, *, keys: dict[str, list], where: dict | None = None, order_by: str = "",
            lock: bool = False, only: tuple[str, ...] = (), per_key: bool = False) -> list:
    """Instances of ``model`` whose ``keys`` columns match one of the given key tuples (the
    lists are parallel) and whose ``where`` columns equal a value (a set: any of its values);
    ``only``: load just these fields (the others are deferred, as with QuerySet.only).

    On PostgreSQL the keys are joined from ``unnest`` of array parameters bound server-side: one
    index lookup per key whatever the table statistics (a fresh table, or autovacuum off, made
    the planner filter 100,000 rows by a 1,000-element ``= ANY`` for every chunk), and no
    client-side rendering of 1,000 quoted literals (~30 ms of CPU a query with the ORM's __in).
    ``per_key``: look each key up in a LATERAL subquery that ``OFFSET 0`` keeps from being
    flattened, for a table the planner would otherwise hash-join whole for every chunk (the open
    exams: 100,000 rows read per chunk at 100,000 exams). Not for the patient and order lookups
    of new rows: on a fresh table it made the planner scan the table once per key."""
    columns = list(keys)
    wanted = set(zip(*keys.values()))
    if not wanted:
        return []
    meta = model._meta
    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    fields = [f for f in meta.concrete_fields if not only or f.primary_key or f.attname in only]
    by_column = {f.column: f for f in fields}
    select = ", ".join(f"t.{quote(f.column)}" for f in fields)
    params: list = []
    if postgres:
        arrays = ", ".join(f"%s::{by_column[c].db_type(connection)}[]" for c in columns)
        joined = " AND ".join(f"t.{quote(c)} = k.{quote(c)}" for c in columns)
        keyed = f"SELECT {select} FROM unnest({arrays}) AS k({', '.join(quote(c) for c in columns)})"
        sql = f"{keyed} JOIN {quote(meta.db_table)} t ON {joined}"
        params += [_array_text(list(values)) for values in zip(*wanted)]
        clauses = []
    else:
        sql = f"SELECT {select} FROM {quote(meta.db_table)} t"
        clauses = []
        for column, values in zip(columns, zip(*wanted)):
            values = list(set(values))
            clauses.append(f"t.{quote(column)} IN ({', '.join(['%s'] * len(values))})")
            params += values
    for column, value in (where or {}).items():
        if isinstance(value, set | frozenset | list | tuple):
            values = list(value)
            clauses.append(f"t.{quote(column)} = ANY(%s)" if postgres else
                           f"t.{quote(column)} IN ({', '.join(['%s'] * len(values))})")
            params += [_array_text(values)] if postgres else values
        else:
            clauses.append(f"t.{quote(column)} = %s")
            params.append(value)
    if postgres and per_key:
        sql = (f"{keyed} CROSS JOIN LATERAL (SELECT * FROM {quote(meta.db_table)} t "
               f"WHERE {' AND '.join([joined, *clauses])} OFFSET 0) t")
    elif clauses:
        sql += " WHERE " + " AND ".join(clauses)
    if order_by:
        sql += " ORDER BY " + ", ".join(f"t.{quote(column)}" for column in order_by.split(", "))
    if lock and postgres:
        sql += " FOR UPDATE OF t"
    connection.ensure_connection()
    with (psycopg.Cursor(connection.connection) if postgres else connection.cursor()) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = []
    for index, model_field in enumerate(fields):
        column = model_field.get_col(meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, column, found))
    names = [f.attname for f in fields]
    positions = [names.index(by_column[c].attname) for c in columns]
    pk = names.index(meta.pk.attname)
    instances, seen, alias = [], set(), connection.alias
    for row in rows:
        if converters:
            row = list(row)
            for index, column, functions in converters:
                for convert in functions:
                    row[index] = convert(row[index], column, connection)
        if tuple(row[i] for i in positions) not in wanted or row[pk] in seen:
            continue  # SQLite matched each key column on its own; a key given twice joins twice
        seen.add(row[pk])
        instances.append(instance_from_db(model, alias, names, row))
    return instances


def _array_text(values: list) -> str | list:
    """A PostgreSQL array parameter as its text when every element is a str or every one an int:
    psycopg's list dumper costs ~0.7 µs an element (0.6 ms for a chunk's 1,000 keys, three to
    five such lists a chunk), the text ~0.15. Elements are quoted, so "NULL" stays a string.
    Anything else is left to psycopg."""
    kinds = {type(value) for value in values}
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {str}:
        return "{" + ",".join(['"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values]) + "}"
    return values


def rows_insert(model, objects: list) -> None:
    """Insert new model instances and set their primary keys: PostgreSQL COPY (ids drawn from
    the table's sequence first), ``bulk_create`` elsewhere. No signals, like bulk_create."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=500)
        return
    plan = _copy_plan(model)
    with connection.cursor() as cursor:
        now = timezone.now()
        for obj, pk in zip(objects, _ids(cursor, model, len(objects))):
            obj.pk = pk
            for name in plan.stamped:
                setattr(obj, name, now)
        with cursor.cursor.copy(plan.sql) as copy:
            for obj in objects:
                try:  # the instance dict, past the field descriptors (a new instance has every field)
                    row = plan.values(obj.__dict__)
                except KeyError:  # deferred fields: through the descriptors, which load them
                    row = plan.values_of(obj)
                copy.write_row(plan.encoded(row))
    alias = connection.alias  # once: the connection proxy resolves each attribute read
    for obj in objects:
        obj._state.adding = False
        obj._state.db = alias


def values_insert(model, rows: list[dict]) -> None:
    """Insert rows given as column values by attname (every concrete field; ``auto_now`` fields
    as given) and set each one's primary key: bulk writes without model instances. PostgreSQL
    COPY; elsewhere ``bulk_create`` of instances made from the rows."""
    if not rows:
        return
    pk_name = model._meta.pk.attname
    if connection.vendor != "postgresql":
        instances = [model(**{name: value for name, value in row.items() if name != pk_name}) for row in rows]
        model.objects.bulk_create(instances, batch_size=500)
        for row, obj in zip(rows, instances):
            row[pk_name] = obj.pk
        return
    plan = _copy_plan(model)
    with connection.cursor() as cursor:
        for row, pk in zip(rows, _ids(cursor, model, len(rows))):
            row[pk_name] = pk
        with cursor.cursor.copy(plan.sql) as copy:
            for row in rows:
                copy.write_row(plan.encoded(plan.values(row)))


def _ids(cursor, model, count: int) -> list[int]:
    """``count`` new primary keys from the table's sequence. The sequence's name is looked up
    once: ``nextval(pg_get_serial_sequence(...))`` resolved it again for every id (~3 us of
    PostgreSQL CPU an id, four ids an imported row, against ~0.5 us for ``nextval`` alone)."""
    cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [_sequence_of(cursor, model), count])
    return [pk for (pk,) in cursor.fetchall()]


_SEQUENCES: dict = {}


def _sequence_of(cursor, model) -> str:
    meta = model._meta
    key = (cursor.db.alias, meta.db_table, meta.pk.column)
    name = _SEQUENCES.get(key)
    if name is None:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        name = _SEQUENCES[key] = cursor.fetchone()[0]
    return name


class _CopyPlan:
    """How one model's rows go into COPY (per model, computed once): the statement, the values in
    column order, JSON fields as text, dates and times as ISO text.

    Why text: psycopg's C row formatter spends ~1 µs on each date or time value and ~0.1 on a
    string, and a chunk's rows share most of theirs (its ``created_at``/``updated_at`` stamp,
    scheduled times): their text is worked out once and remembered. JSON goes through orjson
    (~0.5 µs for an event payload against ~4 with ``json.dumps``); values orjson would write
    differently (dates, subclasses, non-string keys, integers past 64 bits) or a field's own
    encoder keep ``json.dumps`` (orjson writes a UUID as its text, where ``json.dumps`` without an
    encoder refuses it). The columns are ``jsonb``: PostgreSQL stores the same value
    either way (a NaN is the exception: orjson writes null where ``json.dumps`` writes NaN, which
    PostgreSQL refuses; no payload of ours holds a float)."""

    _CACHED = 10_000  # texts remembered per plan (a chunk needs a handful of stamps and lists)

    def __init__(self, model):
        meta = model._meta
        fields = meta.concrete_fields
        quote = connection.ops.quote_name
        self.sql = f"COPY {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
        self.stamped = [f.attname for f in fields if isinstance(f, DateTimeField) and (f.auto_now or f.auto_now_add)]
        self.json = [(index, f.encoder) for index, f in enumerate(fields) if isinstance(f, JSONField)]
        self.temporal = [index for index, f in enumerate(fields) if isinstance(f, DateField)]  # DateTimeField too
        self.values = operator.itemgetter(*(f.attname for f in fields))
        self.values_of = operator.attrgetter(*(f.attname for f in fields))
        self._texts: dict = {}

    def encoded(self, values: tuple) -> tuple | list:
        if not (self.json or self.temporal):
            return values
        row = list(values)
        for index, encoder in self.json:
            row[index] = self._json(row[index], encoder)
        texts = self._texts
        for index in self.temporal:
            value = row[index]
            if type(value) in _TEMPORAL:
                text = texts.get(value)
                if text is None:
                    text = texts[value] = value.isoformat()  # PostgreSQL reads ISO 8601 whatever its DateStyle
                    self._bound()
                row[index] = text
        return row

    def _bound(self) -> None:
        """Start over when full (a worker imports file after file: the texts of the current
        chunk come back at once, an old file's stay out)."""
        if len(self._texts) > self._CACHED:
            self._texts.clear()

    def _json(self, value, encoder) -> str:
        if encoder is None and type(value) in (list, dict) and len(value) <= 4:
            if not value:
                return "[]" if type(value) is list else "{}"
            if type(value) is list and all(type(item) is str for item in value):
                key = tuple(value)
                text = self._texts.get(key)
                if text is None:
                    text = self._texts[key] = json.dumps(value)
                    self._bound()
                return text
        if encoder is None:
            try:
                return orjson.dumps(value, option=_ORJSON_PLAIN, default=_not_plain).decode()
            except (TypeError, ValueError):  # orjson.JSONEncodeError is both
                pass
        return json.dumps(value, cls=encoder)


_TEMPORAL = (dt.datetime, dt.date)
# orjson writes datetimes, dataclasses and subclasses of str/int/dict/list its own way: hand them
# to ``default``, which refuses (json.dumps then).
_ORJSON_PLAIN = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _not_plain(value):
    raise TypeError(f"{type(value).__name__} is left to json.dumps")


_COPY_PLANS: dict = {}


def _copy_plan(model) -> _CopyPlan:
    if model not in _COPY_PLANS:
        _COPY_PLANS[model] = _CopyPlan(model)
    return _COPY_PLANS[model]


def inbound_bulk_finish(pairs: list[tuple[_Item, BatchResult]], *, organization: Organization) -> None:
    """Each bulk-processed message's own inbox row: processed (with its order) or rejected with
    the service's error text, as ``inbound_finish`` leaves it; one UPDATE for all of them."""
    inbound_finish_many([
        (item.inbound, InboundStatus.REJECTED if result.outcome == FAILED else InboundStatus.PROCESSED,
         RequestRejected(result.errors).message if result.outcome == FAILED else "", result.order_id)
        for item, result in pairs if item.inbound is not None and not item.processed_alone
    ], organization=organization)


def _inbound_label(run: list[_Item], inbound: InboundMessage | None) -> str:
    """For logs: the chunk's inbox row, or the first and last message's."""
    if inbound is not None:
        return str(inbound.pk)
    return f"{run[0].inbound.pk}..{run[-1].inbound.pk}" if run and run[0].inbound else "?"


def order_batch_process(*, items: list[tuple[Any, dict]], organization: Organization, channel: str,
                        inbound: InboundMessage, sender: str = "", actor=None) -> list[BatchResult]:
    """One chunk in one call (see OrderBatch for many chunks of one file)."""
    batch = OrderBatch(organization=organization, channel=channel, sender=sender, actor=actor)
    return batch.process(items, inbound=inbound)


__all__ = ["CREATED", "FAILED", "UPDATED", "BatchResult", "OrderBatch", "order_batch_process",
           "rows_insert", "values_insert"]
