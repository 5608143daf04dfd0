"""Writes of report templates and report settings (organization admins, through the editor).

A template is saved only when it validates (report_template_errors); a reset deletes the
override so the next level up applies again. Results already generated keep the report they were
rendered with (ReportTemplate.md: changes "will not be visible for orders graded before")."""
import io

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from delivery.models import ReportSettings, ReportTemplate
from organizations.models import Organization, Site

from .validation import report_template_errors

MAX_LOGO_BYTES = 1024 * 1024
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg"}


def _check_site(organization: Organization, site: Site | None) -> None:
    if site is not None and site.organization_id != organization.pk:
        raise ValidationError({"site": "the site belongs to another organization"})


def report_template_save(*, organization: Organization, site: Site | None, evaluation_type: str, html: str,
                         by) -> ReportTemplate:
    _check_site(organization, site)
    errors = report_template_errors(html)
    if errors:
        raise ValidationError({"html": errors})
    with transaction.atomic():
        template, _ = ReportTemplate.objects.select_for_update().update_or_create(
            organization=organization, site=site, evaluation_type=evaluation_type,
            defaults={"html": html, "updated_by": by})
    return template


def report_template_reset(*, organization: Organization, site: Site | None, evaluation_type: str) -> bool:
    """Delete the override at this level; True when there was one."""
    _check_site(organization, site)
    deleted, _ = ReportTemplate.objects.filter(organization=organization, site=site,
                                               evaluation_type=evaluation_type).delete()
    return bool(deleted)


def logo_validate(upload: UploadedFile) -> str:
    """The file extension of a valid logo (PNG or JPEG, at most 1 MB); ValidationError else."""
    if upload.size > MAX_LOGO_BYTES:
        raise ValidationError({"logo": f"the logo is too large ({upload.size // 1024} KB; at most 1024 KB)"})
    data = upload.read()
    upload.seek(0)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind = image.format
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise ValidationError({"logo": "the logo is not a readable PNG or JPEG image"}) from None
    if kind not in LOGO_FORMATS:
        raise ValidationError({"logo": f"the logo must be PNG or JPEG (got {kind})"})
    return LOGO_FORMATS[kind]


def report_settings_save(*, organization: Organization, site: Site | None, paper_size: str, disclaimer: str,
                         logo: UploadedFile | None, clear_logo: bool, by) -> ReportSettings:
    _check_site(organization, site)
    extension = logo_validate(logo) if logo is not None else None
    with transaction.atomic():
        row, _ = ReportSettings.objects.select_for_update().get_or_create(organization=organization, site=site)
        row.paper_size, row.disclaimer, row.updated_by = paper_size, disclaimer.strip(), by
        if (clear_logo or logo is not None) and row.logo:
            row.logo.delete(save=False)
        if logo is not None:
            row.logo.save(f"logo.{extension}", logo, save=False)
        row.save()
    return row
