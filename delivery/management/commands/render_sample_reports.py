"""Render the default report of every evaluation type on the sample order (no real patient), plus
DR variants (emergent, one eye ungradable, single eye), to PDF files — to look at templates:

    manage.py render_sample_reports --out docs/screenshots/reports
    for f in docs/screenshots/reports/*.pdf; do pdftoppm -png -r 60 -singlefile "$f" "${f%.pdf}"; done
"""
import copy
from dataclasses import replace
from pathlib import Path

from django.core.management.base import BaseCommand

from delivery.results.pdf import html_to_pdf
from delivery.results.report import DEFAULT_DISCLAIMER, report_html
from delivery.results.report_data import ReportData
from delivery.results.sample import sample_report
from delivery.results.templates import builtin_template
from orders.reference import ALL_EVALUATION_TYPE_CODES


def _emergent(report: ReportData) -> ReportData:
    result = copy.deepcopy(report.order_result)
    gradings = result["Gradings"]
    gradings.update(Emergent=True, Urgent=True, Pathology=True, Severity="CRITICAL",
                    CarePlanName="Emergent: same-day emergency care",
                    CarePlanDescription="Send the patient to emergency care today. The organization's emergency "
                                        "contacts have been notified.")
    gradings["OD"]["Findings"] = [*(gradings["OD"]["Findings"] or []),
                                  {"Finding": "Suspected Bilateral Papilledema", "Result": None}]
    gradings["OS"]["Findings"] = [{"Finding": "Suspected Bilateral Papilledema", "Result": None}]
    return replace(report, order_result=result)


def _ungradable(report: ReportData) -> ReportData:
    result = copy.deepcopy(report.order_result)
    result["Gradings"]["OS"] = {"Gradable": False, "MissingEyeReason": None, "UngradableReasons": ["Small pupil"],
                                "Findings": None}
    result["Gradings"].update(CarePlanName="Ungradable images: refer for a dilated eye exam",
                              CarePlanDescription="The images could not be graded. Rescan, or refer to an eye care "
                                                  "professional for a dilated eye exam.")
    return replace(report, order_result=result)


def _single_eye(report: ReportData) -> ReportData:
    result = copy.deepcopy(report.order_result)
    del result["Gradings"]["OS"]
    result["Order"].update(SingleEyeOnly=True, MissingEyeReason="Prosthetic eye")
    return replace(report, order_result=result, pictures={"OD": report.pictures["OD"], "OS": None})


VARIANTS = {"emergent": _emergent, "ungradable-os": _ungradable, "single-eye": _single_eye}


class Command(BaseCommand):
    help = "Render the default report of each evaluation type (and DR variants) on the sample order to PDF."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="Folder for the PDF files.")
        parser.add_argument("--paper", choices=["letter", "a4"], default="letter")

    def handle(self, *args, **options):
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        jobs = [(code, sample_report(code, disclaimer=DEFAULT_DISCLAIMER, paper_size=options["paper"],
                                     organization_name="Demo Health")) for code in ALL_EVALUATION_TYPE_CODES]
        base = dict(jobs)["DR"]
        jobs += [(f"DR-{name}", make(base)) for name, make in VARIANTS.items()]
        for name, report in jobs:
            html = report_html(report, builtin_template(report.primary_evaluation_type), embed_images=True)
            path = out / f"{name}.pdf"
            path.write_bytes(html_to_pdf(html))
            self.stdout.write(str(path))
