"""Cloud Direct over Redis Streams (SPEC 4.4, docs/integrations/cloud-direct.md).

Per organization: ``iris:<guid>:orders`` (customer XADDs, field ``body`` = JSON),
``iris:<guid>:events`` and ``iris:<guid>:results`` (customer reads), with ``<guid>`` the
lower-case canonical ClientGuid. Modules, one job each:

- broker: stream names, the portal's Redis connection
- intake: one stream entry -> inbox + service, exactly once (retries, dead letters)
- routing: OrderRequest vs GradingSubmission, the seam to grading
- dead_letters: list and replay what kept failing
- publisher: events outbox -> events stream; OrderResult -> results stream
- credentials: per-organization Redis ACL users (write-only / read-only)
- worker: the consumer-group loop behind ``manage.py clouddirect_worker``
- client: what a customer runs (plain redis-py, no Django)
"""
