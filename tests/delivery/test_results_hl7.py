"""The outbound HL7 renderers (ORU^R01, MDM^T02, DFT^P03): parsed back with python-hl7, validated
with hl7apy, and compared with the structure of the published IRIS messages (oru-*.hl7,
dft-*.hl7)."""
import base64
import re

import hl7
import pytest
from django.core.management import call_command
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from delivery.results.context import result_context_build, result_context_stored
from delivery.results.links import report_link_resolve
from delivery.results.renderers import renderer_get
from delivery.results.renderers.hl7_segments import Hl7OptionError, escape
from delivery.results.services import result_generate
from grading.eyes import EyeInput
from grading.services import grading_reopen, grading_submit
from organizations.models import HL7Interface, HL7SiteMapping

from tests.factories import UserFactory

from .factories import FIXTURES, dr_eye, graded_order, normal_eye, ungradable_eye

pytestmark = pytest.mark.django_db

SEGMENT_START = re.compile(r"(?=\b(?:MSH|EVN|PID|PV1|ORC|OBR|OBX|NTE|TXA|FT1|DG1)\|)")


# ---------------------------------------------------------------------------------------------
# helpers


def render(grading, kind: str, **options) -> tuple[bytes, object]:
    context = result_context_build(grading_id=grading.pk, result_code=grading.result_code)
    context.options = options
    return renderer_get(kind).render(context), context


def parse(message: bytes) -> hl7.Message:
    text = message.decode("utf-8")
    assert "\n" not in text and text.endswith("\r"), "segments are separated by CR only"
    return hl7.parse(text)


def names(message: hl7.Message) -> list[str]:
    return [str(segment[0]) for segment in message]


def fixture_segments(name: str) -> list[str]:
    """A published example as segments (newline- or, in dft-3, space-separated as published)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return [part.strip() for line in text.splitlines() for part in SEGMENT_START.split(line) if part.strip()]


def collapsed(segment_names: list[str]) -> list[str]:
    """Segment names with runs of the same name collapsed (the OBX series has any length)."""
    return [name for index, name in enumerate(segment_names) if index == 0 or segment_names[index - 1] != name]


def obx_rows(message: hl7.Message) -> list[tuple[str, str, str, str, str]]:
    """(OBX-3.1, OBX-4, OBX-5 unescaped, OBX-8, OBX-11) of every OBX."""
    rows = []
    for segment in message.segments("OBX"):
        rows.append((str(segment(3)(1)(1)) if str(segment(3)) else "", str(segment(4)), message.unescape(str(segment(5))),
                     str(segment(8)), str(segment(11))))
    return rows


def discrete(message: hl7.Message) -> dict[str, tuple[str, str]]:
    return {ident: (value, flag) for ident, _, value, flag, _ in obx_rows(message) if ident not in ("Result", "PDF",
                                                                                                     "LINK")}


def hl7apy_parse(message: bytes, level=VALIDATION_LEVEL.TOLERANT):
    parsed = parse_message(message.decode("utf-8"), validation_level=level, find_groups=True)
    return parsed


# ---------------------------------------------------------------------------------------------
# ORU^R01


def test_oru_of_a_normal_exam_has_the_published_structure_and_fields():
    grading = graded_order(local_id="ORD-HL7-1")
    order, patient = grading.order, grading.order.patient
    raw, context = render(grading, "oru")
    message = parse(raw)
    published = [segment.split("|")[0] for segment in fixture_segments("oru-1.hl7")]
    assert collapsed(names(message)) == collapsed(published) == ["MSH", "PID", "PV1", "ORC", "OBR", "OBX"]

    msh = message.segment("MSH")
    assert str(msh(9)) == "ORU^R01" and str(msh(12)) == "2.4" and str(msh(3)) == "IRIS" and str(msh(4)) == "IRIS"
    assert 0 < len(str(msh(10))) <= 20
    pid = message.segment("PID")
    assert str(pid(2)(1)(1)) == patient.local_id and str(pid(2)(1)(5)) == "MRN" and str(pid(3)) == patient.local_id
    assert str(pid(5)) == "Lopez^Maria" and str(pid(7)) == "19580314" and str(pid(8)) == "F"
    assert len(pid) <= 19, "PID-19 (SSN) is never sent"
    pv1 = message.segment("PV1")
    assert str(pv1(2)) == "O" and str(pv1(3)) == order.site.local_id
    assert str(pv1(7)(1)(1)) == "1234567890" and str(pv1(7)(1)(13)) == "NPI" and str(pv1(44))
    orc, obr = message.segment("ORC"), message.segment("OBR")
    assert str(orc(1)) == "RE" and str(orc(2)) == "ORD-HL7-1" and str(orc(3)) == f"{order.pk}^IRIS"
    assert str(obr(2)) == "ORD-HL7-1" and str(obr(4)(1)(1)) == "92250" and str(obr(25)) == "F"
    assert str(obr(32)(1)(1)(1)) == "1234567893" and str(obr(7)) and str(obr(22))

    # The discrete series is that of the published example, in its order, with no flags.
    published_discrete = [segment.split("|")[3].split("^")[0] for segment in fixture_segments("oru-1.hl7")[5:14]]
    rows = obx_rows(message)
    assert [row[0] for row in rows[:9]] == published_discrete
    assert [(row[2], row[3]) for row in rows[:9]] == [("NORMAL", ""), ("None", ""), ("None", ""), ("None", ""),
                                                      ("Gradable Image", ""), ("None", ""), ("None", ""),
                                                      ("None", ""), ("Gradable Image", "")]
    assert [row[1] for row in rows[:9]] == [str(n) for n in range(1, 10)]
    assert [str(segment(1)) for segment in message.segments("OBX")] == [str(n) for n in range(1, len(rows) + 1)]
    narrative = [row for row in rows if row[0] == "Result"]
    assert narrative[0][1:3] == ("001", "Retinal Study Result for Maria Lopez")
    assert [row[1] for row in narrative] == [f"{n:03d}" for n in range(1, len(narrative) + 1)]
    text = [row[2] for row in narrative]
    assert any(line.startswith("Right eye findings: Normal Result.") for line in text)
    assert any("electronically signed by Reader, Grace, OD, NPI: 1234567893" in line for line in text)
    assert all(row[4] == "F" for row in rows)

    # The PDF, Base64 in the last OBX (ED), is the report.
    last = message.segments("OBX")[-1]
    assert str(last(2)) == "ED" and str(last(5)(1)(1)) == "PDF" and str(last(5)(1)(4)) == "Base64"
    assert base64.b64decode(str(last(5)(1)(5))) == context.artifact("pdf")
    assert context.artifact("pdf").startswith(b"%PDF")

    parsed = hl7apy_parse(raw)
    assert parsed.name == "ORU_R01" and parsed.msh.msh_9.to_er7() == "ORU^R01"
    order_observation = parsed.oru_r01_patient_result.oru_r01_order_observation
    assert order_observation.obr.obr_2.to_er7() == "ORD-HL7-1"
    assert len(order_observation.oru_r01_observation) == len(rows)
    # Without the big ED (hl7apy's STRICT level caps a TX value at 64 KiB) the message is STRICT-valid.
    small, _ = render(grading, "oru", pdf_mode="rp")
    assert hl7apy_parse(small, VALIDATION_LEVEL.STRICT).name == "ORU_R01"


@pytest.mark.parametrize(("od", "os", "expected"), [
    pytest.param(dr_eye("Moderate", "None", "Suspected Glaucoma"), dr_eye("Mild"),
                 {"SEVERITY": ("ABNORMAL", "A"), "RIGHTDIABRETIN": ("Moderate", "A"), "RIGHTMACEDEMA": ("None", ""),
                  "RIGHTOTHERRETIN": ("Suspected Glaucoma", "A"), "RIGHTQUALAPP": ("Gradable Image", ""),
                  "LEFTDIABRETIN": ("Mild", "A"), "LEFTMACEDEMA": ("None", ""), "LEFTOTHERRETIN": ("None", ""),
                  "LEFTQUALAPP": ("Gradable Image", "")}, id="pathology"),
    pytest.param(dr_eye("Proliferative", "Positive"), dr_eye("None", "None", "Suspected Bilateral Papilledema"),
                 {"SEVERITY": ("CRITICAL", "AA"), "RIGHTDIABRETIN": ("Proliferative", "AA"),
                  "RIGHTMACEDEMA": ("Positive", "AA"), "RIGHTOTHERRETIN": ("None", ""),
                  "RIGHTQUALAPP": ("Gradable Image", ""), "LEFTDIABRETIN": ("None", ""), "LEFTMACEDEMA": ("None", ""),
                  "LEFTOTHERRETIN": ("Suspected Bilateral Papilledema", "AA"), "LEFTQUALAPP": ("Gradable Image", "")},
                 id="critical"),
    pytest.param(EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "None"), ("Macular Edema", "None")],
                          other_text="Choroidal nevus, stable", other_subset="Not referable"),
                 EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "None"), ("Macular Edema", "None")],
                          other_text="Retinal detachment", other_subset="Urgent"),
                 {"SEVERITY": ("ABNORMAL", "A"), "RIGHTDIABRETIN": ("None", ""), "RIGHTMACEDEMA": ("None", ""),
                  "RIGHTOTHERRETIN": ("Choroidal nevus, stable", ""),
                  "RIGHTQUALAPP": ("Gradable Image", ""), "LEFTDIABRETIN": ("None", ""), "LEFTMACEDEMA": ("None", ""),
                  "LEFTOTHERRETIN": ("Retinal detachment", "AA"), "LEFTQUALAPP": ("Gradable Image", "")},
                 id="other-free-text"),
])
def test_discrete_results_carry_the_abnormal_flags_of_discrete_results_md(od, os, expected):
    grading = graded_order(od=od, os=os)
    message = parse(render(grading, "oru", pdf_mode="none")[0])
    assert discrete(message) == expected
    assert list(discrete(message)) == list(expected)  # right eye first, SEVERITY first


def test_ungradable_exam_has_no_severity_and_only_image_quality_rows():
    grading = graded_order(od=ungradable_eye(), os=ungradable_eye("Small pupil"))
    message = parse(render(grading, "oru", pdf_mode="none")[0])
    assert discrete(message) == {"RIGHTQUALAPP": ("Not Gradable Image", ""), "LEFTQUALAPP": ("Not Gradable Image", "")}
    text = [row[2] for row in obx_rows(message) if row[0] == "Result"]
    assert "Right eye findings: Not gradable (Image out of focus)." in text
    assert "Left eye findings: Not gradable (Small pupil)." in text


def test_an_eye_without_images_has_no_discrete_rows():
    grading = graded_order(images=("OD",), single_eye_only=True)
    message = parse(render(grading, "oru", pdf_mode="none")[0])
    assert [ident for ident in discrete(message)] == ["SEVERITY", "RIGHTDIABRETIN", "RIGHTMACEDEMA",
                                                        "RIGHTOTHERRETIN", "RIGHTQUALAPP"]


def test_rp_mode_carries_the_signed_link_of_the_stored_result_and_no_pdf():
    grading = graded_order(local_id="ORD-HL7-RP")
    result_set = result_generate(grading_id=grading.pk)
    context = result_context_stored(result_set)
    context.options = {"pdf_mode": "rp"}
    message = parse(renderer_get("oru").render(context))
    published = fixture_segments("oru-2.hl7")  # IRIS's example B: the RP variant
    assert collapsed(names(message)) == collapsed([segment.split("|")[0] for segment in published])
    published_rp = published[-1].split("|")
    last = message.segments("OBX")[-1]
    assert (str(last(2)), str(last(3))) == (published_rp[2], published_rp[3]) == ("RP", "LINK^^PDFLINK")
    assert str(last(4)) == str(last(1)) and published_rp[4] == published_rp[1]
    link = message.unescape(str(last(5)))
    assert link.startswith(context.report_link_url().rsplit("/", 2)[0] + "/")
    assert report_link_resolve(link.rstrip("/").rsplit("/", 1)[-1]) == result_set
    assert "ED" not in [str(segment(2)) for segment in message.segments("OBX")]

    context = result_context_stored(result_set)
    context.options = {"pdf_mode": "both"}
    both = parse(renderer_get("oru").render(context))
    assert [str(segment(2)) for segment in both.segments("OBX")][-2:] == ["ED", "RP"]


def test_the_stored_oru_embeds_the_stored_pdf():
    grading = graded_order()
    result_set = result_generate(grading_id=grading.pk)
    with result_set.document("oru").file.open("rb") as handle:
        message = parse(handle.read())
    with result_set.document("pdf").file.open("rb") as handle:
        pdf = handle.read()
    assert base64.b64decode(str(message.segments("OBX")[-1](5)(1)(5))) == pdf
    assert str(message.segment("MSH")(10)) != str(parse(result_set_document(result_set, "dft")).segment("MSH")(10))


def result_set_document(result_set, kind: str) -> bytes:
    with result_set.document(kind).file.open("rb") as handle:
        return handle.read()


def test_text_with_hl7_delimiters_and_non_ascii_is_escaped_and_round_trips():
    from tests.factories import PatientFactory, SiteFactory

    site = SiteFactory(state="FL")
    patient = PatientFactory(site=site, first_name="José", last_name="Núñez|O^Brien", dob="1970-01-02")
    notes = "Check A|B^C&D~E\\F again.\nSecond line"
    grading = graded_order(site=site, patient=patient, notes=notes, od=dr_eye("Mild"), os=normal_eye())
    raw, _ = render(grading, "oru", pdf_mode="none")
    text = raw.decode("utf-8")
    assert "A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F again." in text
    message = parse(raw)
    assert str(message.segment("MSH")(18)) == "UNICODE UTF-8"
    assert message.unescape(str(message.segment("PID")(5)(1)(1))) == "Núñez|O^Brien"
    lines = [row[2] for row in obx_rows(message) if row[0] == "Result"]
    assert "Interpreting Provider's Comments: Check A|B^C&D~E\\F again." in lines
    assert "Second line" in lines
    pid = hl7apy_parse(raw).oru_r01_patient_result.oru_r01_patient.pid
    assert pid.pid_5.to_er7() == "Núñez\\F\\O\\S\\Brien^José"


def test_long_narrative_lines_are_wrapped_within_the_hl7_string_limit():
    notes = " ".join(f"word{n}" for n in range(120))  # about 800 characters on one line
    grading = graded_order(notes=notes)
    raw, _ = render(grading, "oru", pdf_mode="none")
    message = parse(raw)
    lines = [row[2] for row in obx_rows(message) if row[0] == "Result"]
    start = next(i for i, line in enumerate(lines) if line.startswith("Interpreting Provider's Comments: "))
    wrapped = lines[start:start + 5]
    assert all(len(line) <= 180 for line in lines) and len(wrapped[0]) > 150
    assert " ".join(wrapped).startswith(f"Interpreting Provider's Comments: {notes}")
    assert hl7apy_parse(raw, VALIDATION_LEVEL.STRICT).name == "ORU_R01"


def test_escape_covers_every_delimiter_and_line_breaks():
    assert escape("a|b^c&d~e\\f\r\ng") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f g"
    assert escape("x\x0by\x1cz\tq\rr") == "x y z q r"  # no MLLP framing bytes, no segment end
    assert escape(None) == ""


def test_a_correction_is_sent_with_status_c():
    first = graded_order(od=dr_eye("Moderate"))
    staff = UserFactory(organization=first.grader.organization, is_staff=True)
    order = grading_reopen(order=first.order, by=staff)
    correction = grading_submit(order=order, grader=first.grader, od=dr_eye("Severe"), os=normal_eye()).grading
    assert correction.result_code == "C"
    message = parse(render(correction, "oru", pdf_mode="none")[0])
    assert str(message.segment("OBR")(25)) == "C"
    assert {row[4] for row in obx_rows(message)} == {"C"}
    assert discrete(message)["RIGHTDIABRETIN"] == ("Severe", "A")
    mdm = parse(render(correction, "mdm", pdf_mode="none")[0])
    assert str(mdm.segment("TXA")(17)) == "C"


def test_narrative_can_be_switched_off():
    grading = graded_order()
    rows = obx_rows(parse(render(grading, "oru", narrative=False)[0]))
    assert [row[0] for row in rows][-1] == "PDF" and "Result" not in [row[0] for row in rows]
    assert len(rows) == 10  # nine discrete results and the PDF


def test_unknown_or_invalid_options_are_refused_naming_the_option():
    grading = graded_order()
    with pytest.raises(Hl7OptionError, match="pdf_mode: 'pdf' is not one of"):
        render(grading, "oru", pdf_mode="pdf")
    with pytest.raises(Hl7OptionError, match="unknown HL7 option.*colour"):
        render(grading, "dft", colour="red")
    with pytest.raises(Hl7OptionError, match="narrative: 'false' is not true or false"):
        render(grading, "oru", narrative="false")


def test_organization_interface_names_the_receiver_and_the_location():
    grading = graded_order(local_id="ORD-HL7-IF")
    order = grading.order
    HL7Interface.objects.create(organization=order.organization, name="older feed without this site",
                                sending_applications=["OTHER"], sending_facilities=["ELSEWHERE"])
    interface = HL7Interface.objects.create(organization=order.organization, sending_applications=["EPIC"],
                                            sending_facilities=["WEST CLINIC"])
    HL7SiteMapping.objects.create(interface=interface, code="POC01", site=order.site)
    oru = parse(render(grading, "oru", pdf_mode="none")[0])
    assert [str(oru.segment("MSH")(n)) for n in (3, 4, 5, 6)] == ["IRIS", "IRIS", "EPIC", "WEST CLINIC"]
    assert str(oru.segment("PV1")(3)) == "POC01"
    dft = parse(render(grading, "dft")[0])
    ft1 = dft.segment("FT1")
    assert str(ft1(13)) == str(ft1(16)) == "POC01" and str(ft1(23)) == "ORD-HL7-IF^EPIC"
    overridden = parse(render(grading, "oru", pdf_mode="none", receiving_application="CERNER",
                              receiving_facility="MAIN")[0])
    assert [str(overridden.segment("MSH")(n)) for n in (5, 6)] == ["CERNER", "MAIN"]


def test_without_an_interface_the_receiver_defaults_to_emr_and_the_site():
    grading = graded_order()
    msh = parse(render(grading, "oru", pdf_mode="none")[0]).segment("MSH")
    assert [str(msh(5)), str(msh(6))] == ["EMR", grading.order.site.local_id]


# ---------------------------------------------------------------------------------------------
# MDM^T02


def test_mdm_carries_txa_and_the_pdf():
    grading = graded_order(local_id="ORD-HL7-MDM")
    raw, context = render(grading, "mdm")
    message = parse(raw)
    assert collapsed(names(message)) == ["MSH", "EVN", "PID", "PV1", "TXA", "OBX"]
    assert str(message.segment("MSH")(9)) == "MDM^T02" and str(message.segment("EVN")(1)) == "T02"
    txa = message.segment("TXA")
    assert str(txa(1)) == "1" and str(txa(2)(1)(1)) == "92250" and str(txa(4))
    assert str(txa(10)(1)(1)) == "1234567893" and str(txa(12)) == context.order_result["TransactionId"]
    assert str(txa(14)) == "ORD-HL7-MDM" and str(txa(17)) == "F"
    ed = [segment for segment in message.segments("OBX") if str(segment(2)) == "ED"]
    assert len(ed) == 1 and base64.b64decode(str(ed[0](5)(1)(5))) == context.artifact("pdf")
    parsed = hl7apy_parse(raw)
    assert parsed.name == "MDM_T02" and parsed.txa.txa_12.to_er7() == context.order_result["TransactionId"]
    # STRICT-valid but for TXA-2, which follows IRIS (CPT^description) where HL7 2.4 has one IS value.
    small = render(grading, "mdm", pdf_mode="none")[0].replace(
        b"|92250^Fundus photography with interpretation and report|", b"|92250|")
    assert hl7apy_parse(small, VALIDATION_LEVEL.STRICT).name == "MDM_T02"


# ---------------------------------------------------------------------------------------------
# DFT^P03


def test_dft_has_the_published_structure_with_cpt_and_icd10_codes():
    grading = graded_order(local_id="ORD-HL7-DFT", od=dr_eye("Moderate", "Positive"), os=dr_eye("Mild"))
    raw, context = render(grading, "dft")
    message = parse(raw)
    for fixture in ("dft-1.hl7", "dft-2.hl7", "dft-3.hl7"):
        assert collapsed([segment.split("|")[0] for segment in fixture_segments(fixture)]) == names(message)
    assert names(message) == ["MSH", "EVN", "PID", "PV1", "FT1"]
    assert str(message.segment("MSH")(9)) == "DFT^P03" and str(message.segment("EVN")(1)) == "P03"
    ft1 = message.segment("FT1")
    published = fixture_segments("dft-1.hl7")[4].split("|")
    assert str(ft1(1)) == published[1] == "1" and str(ft1(6)) == published[6] == "CG"
    assert str(ft1(10)) == published[10] == "1" and str(ft1(13)) == str(ft1(16)) == grading.order.site.local_id
    assert published[15] == "IRIS" and str(ft1(15)) == ""  # an amount field: left empty (see the docs)
    assert str(ft1(3)) == str(grading.order.pk) and str(ft1(9)) == grading.order.patient.local_id
    assert str(ft1(7)) == str(ft1(25)) == "92250^Fundus photography with interpretation and report^CPT"
    assert str(ft1(20)(1)(1)) == "1234567893" and str(ft1(21)(1)(1)) == "1234567890"
    diagnoses = [(str(rep(1)), str(rep(3))) for rep in ft1(19)]
    expected = [(f"{code[:3]}.{code[3:]}", "ICD-10-CM") for code in grading.icd10_codes]
    assert diagnoses == expected and len(expected) >= 2
    assert len(ft1) <= 26  # no modifier: trailing empty FT1-26 left out
    assert str(ft1(4)) == context.order_result["Gradings"]["GradedTime"][:19].replace("-", "").replace(
        ":", "").replace("T", "")
    parsed = hl7apy_parse(raw, VALIDATION_LEVEL.STRICT)  # small enough for STRICT
    assert parsed.name == "DFT_P03" and parsed.dft_p03_financial.ft1.ft1_7.ce_1.to_er7() == "92250"


@pytest.mark.parametrize(("od", "os", "modifier"), [
    (ungradable_eye(), ungradable_eye(), "NC"),
    (ungradable_eye(), normal_eye(), "52"),
])
def test_dft_modifier_for_ungradable_images(od, os, modifier):
    grading = graded_order(od=od, os=os)
    assert str(parse(render(grading, "dft")[0]).segment("FT1")(26)) == modifier


def test_cpt2_charge_on_demand_for_an_adult_without_retinopathy():
    normal = graded_order(local_id="ORD-CPT2")
    message = parse(render(normal, "dft", cpt2=True)[0])
    assert collapsed(names(message)) == collapsed([s.split("|")[0] for s in fixture_segments("dft-3.hl7")])
    first, second = message.segments("FT1")
    published = fixture_segments("dft-3.hl7")[-1].split("|")
    assert str(second(1)) == published[1] == "2" and str(second(7)) == published[7] == str(second(25))
    assert str(second(3)) == str(first(3)) and len(names(parse(render(normal, "dft")[0]))) == 5  # off by default
    moderate = graded_order(od=dr_eye("Moderate"))
    assert len(parse(render(moderate, "dft", cpt2=True)[0]).segments("FT1")) == 1


def test_an_order_without_cpt_bills_the_default_code():
    grading = graded_order(cpt_code="")
    assert str(parse(render(grading, "dft")[0]).segment("FT1")(7)(1)(1)) == "92250"


def test_control_ids_are_stable_per_result_and_distinct_per_message_type():
    grading = graded_order()
    context = result_context_build(grading_id=grading.pk, result_code="F")
    context.options = {"pdf_mode": "none"}
    ids = {kind: str(parse(renderer_get(kind).render(context)).segment("MSH")(10)) for kind in ("oru", "mdm", "dft")}
    assert len(set(ids.values())) == 3 and all(len(value) <= 20 for value in ids.values())
    assert str(parse(renderer_get("oru").render(context)).segment("MSH")(10)) == ids["oru"]


# ---------------------------------------------------------------------------------------------
# render_result


@pytest.mark.parametrize(("fmt", "message_type"), [("oru", "ORU^R01"), ("mdm", "MDM^T02"), ("dft", "DFT^P03")])
def test_render_result_writes_the_hl7_message(tmp_path, fmt, message_type):
    grading = graded_order(local_id=f"CMD-{fmt}")
    out = tmp_path / f"r.{fmt}.hl7"
    call_command("render_result", "--client-guid", str(grading.order.organization.client_guid), "--order",
                 grading.order.local_id, "--format", fmt, "--out", str(out))
    message = parse(out.read_bytes())
    assert str(message.segment("MSH")(9)) == message_type
    assert str(message.segment("PID")(3)) == grading.order.patient.local_id


def test_the_helper_module_is_not_an_output_kind():
    from delivery.results.renderers import generated_kinds

    assert "hl7_segments" not in generated_kinds()
    assert {"oru", "mdm", "dft"} <= set(generated_kinds())
    with pytest.raises(LookupError):
        renderer_get("hl7_segments").render(None)


def test_ai_read_order_bills_the_ai_code_without_a_grader_npi():
    grading = graded_order(types=("DR_REFNOREF",), cpt_code="",
                           od=EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "None")]),
                           os=EyeInput(gradable=True, findings=[("Diabetic Retinopathy", "Positive")]))
    message = parse(render(grading, "dft")[0])
    ft1 = message.segment("FT1")
    assert str(ft1(7)(1)(1)) == "92229"
    assert str(ft1(20)) == "^^ai-reader"  # no NPI, no NPI type: the service account by name
    oru = parse(render(grading, "oru", pdf_mode="none")[0])
    assert discrete(oru)["LEFTDIABRETIN"] == ("Positive", "A")
