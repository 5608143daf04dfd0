"""Published JSON Schemas of the canonical messages, at stable URLs."""
import json
from functools import cache

from django.http import Http404, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from .canonical import EVENT_MODELS, GradingSubmission, OrderRequest

SCHEMA_BASE = "/schemas/"


@cache
def _schemas() -> dict[str, dict]:
    """file name -> JSON Schema, generated from the models the code actually validates with."""
    version = "2.3.1"
    from delivery.results.schema import OrderResult

    models = {
        f"order-submission.schema.{version}.json": OrderRequest,
        f"grading-submission.schema.{version}.json": GradingSubmission,
        f"order-results.schema.{version}.json": OrderResult,
    }
    models.update({f"event-{name}.schema.{version}.json": model for name, model in EVENT_MODELS.items()})
    schemas = {}
    for file_name, model in models.items():
        schema = model.model_json_schema(by_alias=True, mode="validation" if "submission" in file_name else "serialization")
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_BASE + file_name, **schema}
        schemas[file_name] = schema
    return schemas


@require_GET
@cache_control(public=True, max_age=3600)
def schema_index(request):
    body = {"schemas": [SCHEMA_BASE + name for name in sorted(_schemas())]}
    return HttpResponse(json.dumps(body, indent=2), content_type="application/json")


@require_GET
@cache_control(public=True, max_age=3600)
def schema_detail(request, name: str):
    schema = _schemas().get(name)
    if schema is None:
        raise Http404("No such schema")
    return HttpResponse(json.dumps(schema, indent=2), content_type="application/schema+json")
