"""HL7 DFT^P03 charge (IRIS integration/DFT_Results/DFT_Results.md, FT1 option 1, professional
charge): MSH, EVN, PID, PV1, FT1 with the CPT code and the grading's ICD-10-CM codes, and with
the ``cpt2`` option a second FT1 with CPT II 3072F when an adult has no retinopathy. Only
renders: that a DFT goes out at most once per order is the delivery service's rule."""
from grading.catalogue import DIABETIC_RETINOPATHY

from ..icd10_text import icd10_display
from ..tokens import age_on
from . import hl7_segments as h

MEDIA_TYPE = "application/hl7-v2"
EXTENSION = "hl7"
MESSAGE_TYPE = "DFT^P03"
CPT2_NO_RETINOPATHY = ("3072F", "No evidence of retinopathy in the prior year")


def charge_modifier(context) -> str:
    """FT1-26: NC when no imaged eye was gradable, 52 when one of them was not, else empty."""
    imaged = [eye for eye in h.eyes(context.order_result) if eye.status not in ("not_imaged", "missing")]
    ungradable = [eye for eye in imaged if eye.status == "ungradable"]
    if imaged and len(ungradable) == len(imaged):
        return "NC"
    return "52" if ungradable else ""


def no_retinopathy_adult(context) -> bool:
    """DFT_Results.md's CPT II condition: the patient is 18 or older when graded and every
    gradable eye has Diabetic Retinopathy "None" (and at least one eye was graded for it)."""
    result = context.order_result
    graded = (result.get("Gradings") or {}).get("GradedTime")
    if not graded or int(age_on(result["Patient"].get("Dob"), graded) or 0) < 18:
        return False
    answers = [answer.result for eye in h.eyes(result) if eye.status == "gradable" for answer in eye.answers
               if answer.finding == DIABETIC_RETINOPATHY]
    return bool(answers) and all(value == "None" for value in answers)


def render(context) -> bytes:
    m = h.message_input(context)
    code, description = h.cpt(m.result)
    charges = [_ft1(m, 1, h.components(code, description, "CPT"), h.ts(m.gradings.get("GradedTime")),
                    charge_modifier(context))]
    if m.options.cpt2 and no_retinopathy_adult(context):
        charges.append(_ft1(m, 2, h.components(*CPT2_NO_RETINOPATHY), h.ts(h.capture_time(m.result)), ""))
    return h.message_bytes([*h.patient_segments(m, MESSAGE_TYPE, "P03"), *charges])


def _ft1(m: h.MessageInput, set_id: int, procedure: str, when: str, modifier: str) -> str:
    diagnoses = h.repetitions(h.components(icd10_display(item["Code"]), item.get("Description"), "ICD-10-CM")
                              for item in m.gradings.get("DiagnosisCodes") or [])
    location = h.escape(m.parties.location)
    ft1 = [""] * 26
    ft1[0:10] = [str(set_id), "", h.escape(m.result["Order"]["PatientOrderId"]), when, h.ts(m.result["Timestamp"]),
                 "CG", procedure, "", h.escape(m.result["Patient"]["LocalId"]), "1"]
    # FT1-15 (Insurance Amount, CP) stays empty: IRIS puts "IRIS" there, which is not an amount.
    ft1[12], ft1[15], ft1[18] = location, location, diagnoses
    ft1[19], ft1[20] = h.xcn(m.gradings.get("Provider")), h.xcn(m.result.get("OrderingProvider"))
    ft1[22] = h.components(m.result["Order"]["LocalId"], m.parties.receiving_application)
    ft1[24], ft1[25] = procedure, modifier
    return h.segment("FT1", *ft1)
