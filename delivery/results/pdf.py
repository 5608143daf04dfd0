"""HTML -> PDF with WeasyPrint, fetching nothing but inline data and our own files.

``ReportURLFetcher`` refuses http(s) and every other scheme, serves ``data:`` URIs, and serves
``file://`` URLs only inside MEDIA_ROOT (where Django storage keeps images and logos). So a
template can neither make the renderer call out (SSRF) nor read a file of the host. Templates
are validated before they are saved, the fetcher is the second line.

WeasyPrint keeps some memory per render (~0.2 MB): run Celery workers with
``--max-tasks-per-child`` (settings.CELERY_WORKER_MAX_TASKS_PER_CHILD)."""
import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

from .report import PAGE_TOTAL, PAGE_TOTAL_ONE

# WeasyPrint logs every rendering step at INFO; keep its warnings (e.g. a refused URL) only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

from weasyprint import HTML  # noqa: E402 - after quieting its progress logger
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

logger = logging.getLogger(__name__)


class RefusedURL(ValueError):
    """A report asked for a resource the renderer does not fetch."""


class ReportURLFetcher(URLFetcher):
    def __init__(self, roots: list[Path] | None = None):
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False, fail_on_errors=False)
        self.roots = [Path(root).resolve() for root in (roots or [settings.MEDIA_ROOT])]

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            return self._file(url)
        logger.warning("report renderer refused a %s: URL", scheme or "relative")
        raise RefusedURL(f"{scheme or 'relative'} URLs are not fetched for reports")

    def _file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise RefusedURL("remote file URLs are not fetched for reports")
        path = Path(unquote(parts.path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots) or not path.is_file():
            logger.warning("report renderer refused a file outside the media folder")
            raise RefusedURL("only files of the portal's storage are fetched for reports")
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": media_type})



def _document(html: str):
    return HTML(string=html, url_fetcher=ReportURLFetcher(), base_url=None).render()


def html_to_pdf(html: str) -> bytes:
    """Render a complete report HTML document; its <meta> identifiers become PDF Info entries.

    The footer's page total (counter(pages)) makes WeasyPrint lay every page out twice; a report
    is nearly always one page, so the first attempt writes the total as 1, and only a longer
    document is rendered again with the real counter."""
    if PAGE_TOTAL in html:
        document = _document(html.replace(PAGE_TOTAL, PAGE_TOTAL_ONE))
        if len(document.pages) == 1:
            return document.write_pdf(custom_metadata=True)
    return _document(html).write_pdf(custom_metadata=True)
