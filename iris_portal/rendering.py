"""``render`` without the reference cycle Django's template context leaves.

``make_context`` pushes the view's dictionary as a ``ContextDict``, which refers back to its
``RequestContext``: a cycle, so after the response everything the template was given (a list
page's table with its page of records, the filter form, the request) is freed only by the cyclic
collector. Emptying the context's stack once the page is rendered breaks the cycle and lets
reference counting free it all at once (tests still see the context: the test client keeps its
own copies).
"""
from django.http import HttpResponse
from django.template import loader
from django.template.context import make_context


def render(request, template_name: str, context: dict | None = None, status: int | None = None) -> HttpResponse:
    """``django.shortcuts.render`` for the Django template backend."""
    template = loader.get_template(template_name)
    engine_template = getattr(template, "template", None)
    if engine_template is None:  # another backend: as Django does it
        return HttpResponse(template.render(context, request), status=status)
    bound = make_context(context, request, autoescape=template.backend.engine.autoescape)
    try:
        content = engine_template.render(bound)
    finally:
        bound.dicts.clear()
    return HttpResponse(content, status=status)
