"""HL7 MDM^T02 (original document notification with content; IRIS integration/MDM/MDM_Results.md):
MSH, EVN, PID, PV1, TXA, then the same OBX series as the ORU (discrete results, the report text,
the PDF as OBX ED by default). EVN is required by the HL7 MDM_T02 structure though IRIS's page
does not show it; the segment order is the standard one (PV1 before TXA)."""
from . import hl7_segments as h

MEDIA_TYPE = "application/hl7-v2"
EXTENSION = "hl7"
MESSAGE_TYPE = "MDM^T02"


def render(context) -> bytes:
    m = h.message_input(context)
    code, description = h.cpt(m.result)
    txa = [""] * 17
    txa[0:2] = ["1", h.components(code, description)]
    txa[3] = h.ts(m.gradings.get("GradedTime"))
    txa[9] = h.xcn(m.gradings.get("Provider"))  # the signing grader authenticates the document
    txa[11] = h.escape(m.result["TransactionId"])
    txa[13], txa[14], txa[16] = m.placer, m.filler, m.status
    return h.message_bytes([*h.patient_segments(m, MESSAGE_TYPE, "T02"), h.segment("TXA", *txa),
                            *h.observation_segments(m)])
