"""Codes of a TOTP device as an authenticator app would show them."""
import time

from django_otp.oath import TOTP


def totp_code(device, steps_ahead: int = 0) -> str:
    """The device's code now (or ``steps_ahead`` time steps later: a code is accepted only once,
    and the device tolerates one step of clock difference)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"
