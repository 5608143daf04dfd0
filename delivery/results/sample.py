"""A sample result for the template editor's live preview (no real patient: PHI never appears
in a preview), and synthetic fundus pictures (also used by tests and the PDF benchmark)."""
import datetime as dt
import io
import math
import random
import uuid
from functools import cache

from django.utils import timezone
from PIL import Image, ImageDraw, ImageFilter

from grading import catalogue as cat
from grading.careplan_defaults import DEFAULT_PLANS, DefaultPlan, default_rule
from grading.icd10 import icd10_codes
from orders.reference import ResultCode

from . import schema as s
from .findings import eye_pathology_findings
from .icd10_text import icd10_description
from .report_data import Picture, ReportData


def fundus_jpeg(side: str = "OD", size: tuple[int, int] = (640, 480), *, seed: int = 7, quality: int = 88) -> bytes:
    """A plausible retina photograph: an orange disc on black, an optic disc on the nasal side,
    vessels arching from it and a darker macula. Deterministic for a seed."""
    rng = random.Random(f"{side}-{seed}-{size}")
    width, height = size
    image = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(image)
    radius = int(min(width, height) * 0.48)
    cx, cy = width // 2, height // 2
    for step in range(radius, 0, -max(1, radius // 60)):
        shade = step / radius
        draw.ellipse((cx - step, cy - step, cx + step, cy + step),
                     fill=(int(200 - 70 * shade), int(90 - 40 * shade), int(40 - 20 * shade)))
    disc_x = cx + (int(radius * 0.42) if side == "OD" else -int(radius * 0.42))
    disc_r = int(radius * 0.11)
    for branch in range(8):
        angle = (branch / 8) * 2 * math.pi + rng.uniform(-0.2, 0.2)
        x, y = disc_x, cy
        for _ in range(28):
            angle += rng.uniform(-0.18, 0.18)
            nx, ny = x + math.cos(angle) * radius * 0.05, y + math.sin(angle) * radius * 0.05
            if (nx - cx) ** 2 + (ny - cy) ** 2 > (radius * 0.96) ** 2:
                break
            draw.line((x, y, nx, ny), fill=(130, 25, 20), width=max(2, radius // 70))
            x, y = nx, ny
    draw.ellipse((disc_x - disc_r, cy - disc_r, disc_x + disc_r, cy + disc_r), fill=(250, 220, 150))
    macula_x = cx - (disc_x - cx) // 3
    draw.ellipse((macula_x - disc_r, cy - disc_r, macula_x + disc_r, cy + disc_r), fill=(120, 45, 20))
    image = image.filter(ImageFilter.GaussianBlur(max(1, radius // 120)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@cache
def _sample_pictures() -> dict[str, Picture]:
    return {side: Picture("image/jpeg", data=fundus_jpeg(side, seed=3)) for side in ("OD", "OS")}


def _sample_care_plan(answers: list[dict]) -> DefaultPlan:
    """The default care plan the sample's findings would get (grading/careplan_defaults.py)."""
    plans = {plan.key: plan for plan in DEFAULT_PLANS}
    keys = [default_rule(a["Finding"], a["Result"] or "") for a in answers] or ["normal"]
    return max((plans[key] for key in keys), key=lambda plan: plan.priority)


def sample_order_result(evaluation_type: str) -> dict:
    """An OrderResult of a made-up patient with a mild finding in the right eye."""
    catalogue = cat.catalogue_for(evaluation_type)
    now = timezone.now()
    answers = []
    for index, condition in enumerate(catalogue.diagnosed):
        abnormal = next((r for r in condition.results if r not in cat.NORMAL_RESULTS and r != cat.INDETERMINABLE), None)
        result = abnormal if index == 0 and abnormal else condition.results[0]
        answers.append({"Finding": condition.name, "Result": result})
    if not catalogue.diagnosed and catalogue.suspected:
        suspected = "Suspected Cataract" if "Suspected Cataract" in catalogue.suspected else catalogue.suspected[0]
        answers.append({"Finding": suspected, "Result": None})
    od = eye_pathology_findings(answers)
    plan = _sample_care_plan(answers)
    codes = icd10_codes(dx_code="E11", od={a["Finding"]: a["Result"] or "" for a in answers}, os={})
    if catalogue.ai:
        provider = s.Provider(name=s.ProviderName(first="Sample AI grading service"))
    else:
        provider = s.Provider(npi="1234567893", name=s.ProviderName(first="Sample", last="Reader"), degrees="OD")
    result = s.OrderResult(
        timestamp=now, transaction_id=str(uuid.uuid4()), result_code=ResultCode.FINAL,
        site=s.Site(local_id="SAMPLE", name="Sample Clinic"),
        image_details=s.ImageDetails(total_count=2, right_eye_count=1, right_eye_original_count=1,
                                     right_eye_enhanced_count=0, left_eye_count=1, left_eye_original_count=1,
                                     left_eye_enhanced_count=0, preferred=True, single_eye_only=False),
        order=s.Order(patient_order_id=0, status="Complete", local_id="SAMPLE-ORDER",
                      evaluation_types=[evaluation_type],
                      created_time=now - dt.timedelta(days=2), service_date=now - dt.timedelta(days=1),
                      serviced_time=now - dt.timedelta(days=1), encounter_number="ENC-0001", state="FL",
                      single_eye_only=False),
        patient=s.Patient(patient_id=0, local_id="MRN-SAMPLE", name=s.Name(first="Sample", last="Patient"),
                          dob=dt.date(1960, 4, 12), gender="F", phone="555-0100"),
        ordering_provider=s.Provider(npi="1234567890", name=s.ProviderName(first="Pat", last="Primary"), degrees="MD"),
        gradings=s.Gradings(
            notes=[s.Note(date=now, text="Sample note from the grader.")], graded_time=now,
            queued_time=now - dt.timedelta(days=1), care_plan_name=plan.title,
            care_plan_description=plan.instructions,
            pathology=bool(od), urgent=False, emergent=False,
            od=s.EyeSideGrading(gradable=True, findings=[s.Finding(**f) for f in od] if od else None),
            os=s.EyeSideGrading(gradable=True), dx_codes=codes, provider=provider,
            diagnosis_codes=[s.DiagnosisCode(code=c, description=icd10_description(c)) for c in codes],
            severity="ABNORMAL" if od else "NORMAL"),
        health_plan=s.HealthPlan(local_id="HP-1", name="Sample Health Plan", member_id="M-0001"),
        cpt=s.Cpt(code="92250", description="Fundus photography with interpretation and report"),
    )
    return result.model_dump(mode="json")


def sample_report(evaluation_type: str, *, logo: Picture | None = None, disclaimer: str = "",
                  paper_size: str = "letter", organization_name: str = "") -> ReportData:
    return ReportData(order_result=sample_order_result(evaluation_type), pictures=_sample_pictures(), logo=logo,
                      disclaimer=disclaimer, paper_size=paper_size, organization_name=organization_name,
                      site_address="1 Sample Street, Tampa, FL 33602")
