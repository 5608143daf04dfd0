"""Refuses report templates that are unsafe to render or to hand out as HTML.

A template is parsed with tinyhtml5, the WHATWG parser WeasyPrint itself uses, so what is
checked is what gets rendered; CSS is tokenized with tinycss2 (also WeasyPrint's). Refused:
scripts and active or embedding elements, event-handler attributes, ``javascript:`` URLs, and
any resource URL that is not an inline ``data:`` URI (the renderer fetches nothing remote, and
nothing local a template names). Links (``<a href>``) may point anywhere: they are not fetched."""
import tinycss2
import tinyhtml5

FORBIDDEN_ELEMENTS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "link", "form", "input",
    "button", "textarea", "select", "audio", "video", "source", "track", "portal", "foreignobject", "picture",
    "dialog", "slot",
})
# Attributes holding a URL the renderer (or a browser) would load.
RESOURCE_ATTRIBUTES = frozenset({
    "src", "srcset", "poster", "background", "data", "action", "formaction", "codebase", "archive", "longdesc",
    "lowsrc", "dynsrc", "usemap", "manifest", "ping", "cite", "profile",
})
DATA_PREFIX = "data:"
_LEGACY_ACTIVE_CSS = frozenset({"behavior", "-moz-binding"})


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].lower()


def _compact(url: str) -> str:
    """What a browser would make of the URL's scheme: whitespace and control characters dropped."""
    return "".join(ch for ch in url if ch > " ").lower()


def html_errors(html: str) -> list[str]:
    """Why ``html`` may not be used as a report template (empty when it may)."""
    errors: list[str] = []
    root = tinyhtml5.parse(html)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments
        tag = _local(element.tag)
        if tag in FORBIDDEN_ELEMENTS:
            errors.append(f"<{tag}> is not allowed in a report template")
            continue
        if tag == "meta" and element.get("http-equiv") is not None:
            errors.append("<meta http-equiv> is not allowed in a report template")
        for raw_name, value in element.attrib.items():
            name = _local(raw_name)
            errors += _attribute_errors(tag, name, value or "")
        if tag == "style":
            errors += css_errors("".join(element.itertext()), where="<style>")
    return list(dict.fromkeys(errors))


def _attribute_errors(tag: str, name: str, value: str) -> list[str]:
    compact = _compact(value)
    if name.startswith("on"):
        return [f"event handler attribute {name}= on <{tag}> is not allowed"]
    if "javascript:" in compact or "vbscript:" in compact:
        return [f"{name}= on <{tag}>: script URLs are not allowed"]
    if name == "style":
        return css_errors(value, where=f"style= on <{tag}>", declarations=True)
    if name == "href" and tag == "a":  # a link is never fetched; only data: documents are refused
        return ["href= on <a>: data: links are not allowed"] if compact.startswith(DATA_PREFIX) else []
    if name in RESOURCE_ATTRIBUTES or name == "href":  # href outside <a>: SVG <use>, <image>
        if name == "href" and compact.startswith("#"):
            return []
        if not compact.startswith("data:image/") or name in {"action", "formaction", "ping"}:
            return [f"{name}= on <{tag}> must be an embedded image (data:image/...); "
                    "the report renderer fetches no remote or local files"]
    return []


def css_errors(css: str, *, where: str, declarations: bool = False) -> list[str]:
    """@import and any url() that is not a data: URI (or a #fragment) are refused."""
    nodes = tinycss2.parse_blocks_contents(css) if declarations else tinycss2.parse_stylesheet(css)
    errors: list[str] = []
    for url in _css_urls(nodes, errors, where):
        compact = _compact(url)
        if not (compact.startswith(DATA_PREFIX) or compact.startswith("#")):
            errors.append(f"{where}: url({url[:60]}) is not allowed; embed images as data: URIs "
                          "(the report renderer fetches no remote or local files)")
    return errors


def _css_urls(nodes, errors: list[str], where: str):
    for node in nodes:
        kind = getattr(node, "type", "")
        if kind == "at-rule" and node.lower_at_keyword == "import":
            errors.append(f"{where}: @import is not allowed")
        if kind == "url":
            yield node.value
        elif kind == "function":
            name = node.lower_name
            if name in {"url", "src"}:
                yield "".join(arg.value for arg in node.arguments if getattr(arg, "type", "") == "string")
            elif name in {"expression", "element"}:
                errors.append(f"{where}: {name}() is not allowed")
            yield from _css_urls(node.arguments, errors, where)
        for attr in ("prelude", "content", "value"):
            children = getattr(node, attr, None)
            if isinstance(children, list):
                yield from _css_urls(children, errors, where)
        if (kind == "ident" and node.lower_value in _LEGACY_ACTIVE_CSS) or (
                kind == "declaration" and node.lower_name in _LEGACY_ACTIVE_CSS):
            errors.append(f"{where}: {getattr(node, 'name', None) or node.value} is not allowed")
