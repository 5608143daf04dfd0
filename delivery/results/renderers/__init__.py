"""Result renderers: one module per output kind, behind a registry ``kind -> dotted path``.

A renderer module defines::

    MEDIA_TYPE = "application/pdf"     # of the bytes it returns
    EXTENSION = "pdf"                  # file name extension of the stored document
    GENERATE = True                    # (optional, default True) stored with every result set
    def render(context: ResultContext) -> bytes: ...

The registry is the built-in kinds below, plus every other module of this package (so the HL7
issue adds ``oru.py``, ``mdm.py`` and ``dft.py`` and nothing else), plus
``settings.IRIS_RESULT_RENDERERS`` (``{kind: dotted module path}``) for out-of-tree renderers."""
import pkgutil
from dataclasses import dataclass
from functools import cache
from importlib import import_module

from django.conf import settings

BUILTIN = {
    "pdf": "delivery.results.renderers.pdf",
    "html": "delivery.results.renderers.html",
    "json": "delivery.results.renderers.json",
    "csv": "delivery.results.renderers.csv",
    "cda": "delivery.results.renderers.cda",
}
HL7_KINDS = ("oru", "mdm", "dft")


class RendererNotAvailable(LookupError):
    """No renderer is registered for that kind (yet)."""


@dataclass(frozen=True)
class Renderer:
    kind: str
    media_type: str
    extension: str
    generate: bool
    module: object

    def render(self, context) -> bytes:
        return self.module.render(context)


def renderer_registry() -> dict[str, str]:
    """kind -> dotted module path."""
    registry = dict(BUILTIN)
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            registry.setdefault(info.name, f"{__name__}.{info.name}")
    registry.update(getattr(settings, "IRIS_RESULT_RENDERERS", {}) or {})
    return registry


@cache
def _load(path: str, kind: str) -> Renderer:
    module = import_module(path)
    return Renderer(kind=kind, media_type=module.MEDIA_TYPE, extension=module.EXTENSION,
                    generate=getattr(module, "GENERATE", True), module=module)


def renderer_get(kind: str) -> Renderer:
    path = renderer_registry().get(kind)
    if path is None:
        raise RendererNotAvailable(kind)
    return _load(path, kind)


def generated_kinds() -> list[str]:
    """The kinds stored with every result set, PDF first (others may embed it)."""
    kinds = [kind for kind in renderer_registry() if renderer_get(kind).generate]
    return sorted(kinds, key=lambda kind: (kind != "pdf", kind))
