"""The watched drop folder of each organization, in the default storage:

    dropbox/<client_guid>/incoming/    files to import (customers or their tools put them here)
    dropbox/<client_guid>/processing/  claimed by an import that has not finished
    dropbox/<client_guid>/processed/   imported; ``<name>.report.json`` (+ ``<name>.errors.csv``) beside
    dropbox/<client_guid>/failed/      refused or failed as a whole, or every row rejected; report beside

A file is claimed by moving it to ``processing/`` (an atomic rename on a file-system storage, so
two scanners never import the same file) once it has not changed for
``IRIS_DROPFOLDER_SETTLE_SECONDS`` (default 10: a file still being written is left alone);
names starting with ``.`` or ``~$`` and ``*.tmp``/``*.part`` files are never taken."""
import json
import logging
import os
from collections.abc import Callable

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from organizations.models import Organization

from ...models import ImportJob, ImportSource, ImportStatus
from .job import import_job_create, import_job_summary
from .report import error_report_lines

logger = logging.getLogger(__name__)

ROOT = "dropbox"
_SKIP_PREFIXES = (".", "~$")
_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".filepart")


def dropfolder_root(organization: Organization) -> str:
    return f"{ROOT}/{organization.client_guid}"


def dropfolder_claim(*, organization: Organization) -> list[ImportJob]:
    """Move every settled new file of the organization to ``processing/`` and create its job."""
    jobs = []
    # The folder may have been created with the ClientGuid in upper case (as IRIS prints it).
    for root in dict.fromkeys([dropfolder_root(organization), f"{ROOT}/{str(organization.client_guid).upper()}"]):
        for name in _settled_files(f"{root}/incoming"):
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            claimed = _move(f"{root}/incoming/{name}", f"{root}/processing/{stamp}-{name}")
            if claimed is None:
                continue  # another scanner took it
            jobs.append(import_job_create(organization=organization, name=name, source=ImportSource.DROPFOLDER,
                                          stored_name=claimed))
    return jobs


def dropfolder_claim_all() -> list[ImportJob]:
    jobs = []
    for organization in Organization.objects.filter(is_active=True).order_by("pk"):
        jobs += dropfolder_claim(organization=organization)
    return jobs


def dropfolder_settle(job: ImportJob) -> None:
    """After the import: move the file to processed/ or failed/ and write its report beside it."""
    name = job.file.name
    if "/processing/" not in name:
        return
    root = name.split("/processing/", 1)[0]
    whole_file_failed = job.status in (ImportStatus.REFUSED, ImportStatus.FAILED)
    every_row_failed = job.done_rows > 0 and job.failed_rows == job.done_rows
    folder = "failed" if whole_file_failed or every_row_failed else "processed"
    target = _move(name, f"{root}/{folder}/{job.original_name}")
    if target is None:
        logger.error("import %s: could not move %s out of processing/", job.pk, name)
        return
    ImportJob.objects.filter(pk=job.pk).update(file=target)
    job.file.name = target
    report = {"import_job": job.pk, "file": job.original_name, "sha256": job.sha256, "status": job.status,
              "message": job.message, "warnings": job.warnings, **import_job_summary(job)}
    default_storage.save(f"{target}.report.json", ContentFile(json.dumps(report, indent=2).encode()))
    if job.failed_rows or whole_file_failed:
        lines = "".join(error_report_lines(job))
        default_storage.save(f"{target}.errors.csv", ContentFile(("\ufeff" + lines).encode("utf-8")))
    logger.info("import %s: drop-folder file moved to %s/", job.pk, folder)


def _settled_files(folder: str) -> list[str]:
    try:
        _, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    settle = float(getattr(settings, "IRIS_DROPFOLDER_SETTLE_SECONDS", 10))
    now = timezone.now()
    ready = []
    for name in sorted(files):
        if name.startswith(_SKIP_PREFIXES) or name.lower().endswith(_SKIP_SUFFIXES):
            continue
        try:
            if settle and (now - default_storage.get_modified_time(f"{folder}/{name}")).total_seconds() < settle:
                continue
        except (FileNotFoundError, NotImplementedError):
            continue
        ready.append(name)
    return ready


def _move(source: str, target: str) -> str | None:
    """Move within the default storage; returns the target's actual name (a free one), or None
    when the source is gone. A rename on file-system storage; copy and delete elsewhere."""
    target = default_storage.get_available_name(target)
    path: Callable[[str], str] | None = getattr(default_storage, "path", None)
    try:
        if path is not None:
            try:
                os.makedirs(os.path.dirname(path(target)), exist_ok=True)
                os.rename(path(source), path(target))
                return target
            except NotImplementedError:
                pass
        with default_storage.open(source, "rb") as fh:
            saved = default_storage.save(target, fh)
        default_storage.delete(source)
        return saved
    except FileNotFoundError:
        return None
