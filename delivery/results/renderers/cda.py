"""HL7 CDA R2 unstructured document wrapping the PDF report, for Direct messaging."""
from ..cda import cda_document

MEDIA_TYPE = "application/xml"
EXTENSION = "xml"


def render(context) -> bytes:
    return cda_document(order_result=context.order_result, patient=context.order.patient,
                        organization=context.order.organization, pdf=context.artifact("pdf"),
                        version=context.grading.version if context.grading else 1)
