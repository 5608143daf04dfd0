"""HL7 ORU^R01 results message (IRIS integration/ORU/TEC_007_Rev_C_Standard_Results.md and
DiscreteResults.md): MSH, PID, PV1, ORC, OBR, then the OBX series — discrete results with
abnormal flags, the report as FT lines, and the PDF as OBX ED (Base64) and/or an OBX RP link,
as the endpoint's ``pdf_mode`` option says (hl7_segments.Hl7Options)."""
from . import hl7_segments as h

MEDIA_TYPE = "application/hl7-v2"
EXTENSION = "hl7"
MESSAGE_TYPE = "ORU^R01"


def render(context) -> bytes:
    m = h.message_input(context)
    ordering = h.xcn(m.result.get("OrderingProvider"))
    captured = h.ts(h.capture_time(m.result))
    code, description = h.cpt(m.result)
    orc = h.segment("ORC", "RE", m.placer, m.filler, "", "F", "", "", "", h.ts(m.result["Timestamp"]), "", "",
                    ordering)
    obr = [""] * 32
    obr[0:4] = ["1", m.placer, m.filler, h.components(code, description, "CPT")]
    obr[6], obr[13], obr[15] = captured, captured, ordering
    obr[21], obr[24], obr[31] = h.ts(m.gradings.get("GradedTime")), m.status, h.grader_ndl(m.gradings)
    return h.message_bytes([*h.patient_segments(m, MESSAGE_TYPE), orc, h.segment("OBR", *obr),
                            *h.observation_segments(m)])
