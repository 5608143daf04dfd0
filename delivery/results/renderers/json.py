"""RAW results: the OrderResult as JSON, with the PDF report as Base64 in ResultsDocument
(Resultsgeneration.md: "Raw results can, and usually do, include one of the other result
types, typically the PDF"). ``context.embed_document = False`` leaves ResultsDocument null."""
import base64
import json

MEDIA_TYPE = "application/json"
EXTENSION = "json"


def order_result_with_pdf(order_result: dict, pdf: bytes) -> dict:
    document = {"Type": "PDF", "Encoding": "Base64", "Content": base64.b64encode(pdf).decode("ascii")}
    return {**order_result, "ResultsDocument": document}


def render(context) -> bytes:
    result = context.order_result
    if context.embed_document:
        result = order_result_with_pdf(result, context.artifact("pdf"))
    return json.dumps(result, ensure_ascii=False, indent=2).encode("utf-8")
