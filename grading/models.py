"""Grading, findings catalogue, care plans and ICD-10 codes (SPEC section 5)."""
