"""What a report is made of: the OrderResult plus what it does not carry (the pictures, the
organization's logo, disclaimer and paper size, the grader's signature line).

``Picture`` reads an image from Django storage (or holds sample bytes) and gives it to the
renderer either embedded (``data:`` URI, for the standalone HTML report) or as a ``file://`` URL
inside MEDIA_ROOT (for WeasyPrint: far cheaper than parsing megabytes of base64; the report URL
fetcher serves nothing else)."""
import base64
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.storage import default_storage

from orders.reference import EVALUATION_TYPE_BY_CODE


@dataclass(frozen=True)
class Picture:
    media_type: str
    storage_name: str = ""
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        with default_storage.open(self.storage_name, "rb") as handle:
            return handle.read()

    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.read()).decode('ascii')}"

    def file_url(self) -> str | None:
        """A file:// URL when the storage keeps files on this machine, else None."""
        if not self.storage_name:
            return None
        try:
            return Path(default_storage.path(self.storage_name)).resolve().as_uri()
        except NotImplementedError:  # remote storage (S3, ...): embed instead
            return None

    def src(self, *, embed: bool) -> str:
        return (None if embed else self.file_url()) or self.data_uri()


@dataclass(frozen=True)
class ReportData:
    """Everything the [[TOKEN]] values come from. ``order_result`` is the dict of the builder."""

    order_result: dict
    pictures: dict[str, Picture | None] = field(default_factory=dict)  # "OD"/"OS" -> best image
    logo: Picture | None = None
    disclaimer: str = ""
    paper_size: str = "letter"
    signature_line: str = ""  # the grading provider's own signature line (Provider.signature)
    organization_name: str = ""
    site_address: str = ""

    @property
    def evaluation_types(self) -> list[str]:
        return list(self.order_result["Order"]["EvaluationTypes"])

    @property
    def primary_evaluation_type(self) -> str:
        """The evaluation type whose template is used (the first of the order)."""
        types = [code for code in self.evaluation_types if code in EVALUATION_TYPE_BY_CODE]
        return types[0] if types else "DR"
