"""Forms of the CSV/XLSX import pages: upload a file, upload a mapping sample, map its columns."""
from django import forms
from django.conf import settings

from iris_portal.forms import PortalFormMixin

from .intake.csv.fields import target_fields
from .reference import EVALUATION_TYPE_BY_CODE

ACCEPTED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx")


def max_upload_bytes() -> int:
    return int(getattr(settings, "IRIS_IMPORT_MAX_BYTES", 100 * 1024 * 1024))


class _TableFileForm(PortalFormMixin, forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
        help_text="Comma, semicolon or tab separated text (UTF-8 or Windows-1252), or an Excel .xlsx workbook.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ACCEPTED_SUFFIXES):
            raise forms.ValidationError(f"Upload a {', '.join(ACCEPTED_SUFFIXES)} file "
                                        "(an .xls workbook must be saved as .xlsx first).")
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(f"The file is larger than {max_upload_bytes() // 2**20} MiB.")
        return upload


class ImportUploadForm(_TableFileForm):
    pass


class MappingSampleForm(_TableFileForm):
    file = forms.FileField(
        label="Sample file", widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
        help_text="An export from your system: its header row and first rows are used to set up the mapping.",
    )


def _target_choices() -> list[tuple[str, str]]:
    choices = [("", "— ignore this column —")]
    for field in target_fields():
        label = f"{field.label} ({field.path})" if field.label != field.path else field.path
        choices.append((field.path, label))
    return choices


class MappingForm(PortalFormMixin, forms.Form):
    """One choice per column of the sample file (``col_<n>``), and defaults for fields the
    file leaves out."""

    default_evaluation_types = forms.MultipleChoiceField(
        label="Evaluation types when the file has none", required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Used for rows whose EvaluationType cell is blank or when the file has no such column.",
    )
    default_site = forms.ChoiceField(
        label="Site when the file has none", required=False,
        help_text="Used for rows whose SiteLocalId cell is blank or when the file has no such column.",
    )

    def __init__(self, *args, header: list[str], initial_targets: list[str], organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        choices = _target_choices()
        for index, text in enumerate(header):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=text or f"(column {index + 1}, no header)", choices=choices, required=False,
                initial=initial_targets[index] if index < len(initial_targets) else "",
            )
        self.fields["default_evaluation_types"].choices = [
            (code, f"{code} — {EVALUATION_TYPE_BY_CODE[code].description}")
            for code in organization.evaluation_types or [] if code in EVALUATION_TYPE_BY_CODE]
        self.fields["default_site"].choices = [("", "—")] + [
            (site.local_id, f"{site.name} ({site.local_id})") for site in organization.sites.filter(is_active=True)]

    def column_choices(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{index}") or "" for index in range(len(self.header))]

    def defaults(self) -> dict:
        types = self.cleaned_data.get("default_evaluation_types") or []
        return {"Order.EvaluationTypes": ",".join(types), "Site.LocalId": self.cleaned_data.get("default_site") or ""}

    def column_fields(self):
        return [self[f"col_{index}"] for index in range(len(self.header))]
