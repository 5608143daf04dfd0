"""National Provider Identifier checks. A bad check digit is a warning, never a rejection (SPEC 2)."""
import re

NPI_RE = re.compile(r"^\d{10}$")


def npi_format_ok(npi: str) -> bool:
    return bool(NPI_RE.match(npi or ""))


def npi_check_digit_ok(npi: str) -> bool:
    """Luhn over the 80840 card-issuer prefix plus the first nine digits (CMS NPI standard)."""
    if not npi_format_ok(npi):
        return False
    digits = [int(ch) for ch in "80840" + npi[:9]]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])
