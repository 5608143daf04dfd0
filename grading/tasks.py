"""Celery tasks of the grading app: they take ids and call services."""
import smtplib

from celery import shared_task

from .notifications import emergency_contacts_notify


@shared_task(autoretry_for=(smtplib.SMTPException, OSError), retry_backoff=30, retry_backoff_max=900,
             max_retries=8)
def emergency_contacts_notify_task(grading_id: int) -> bool:
    return emergency_contacts_notify(grading_id=grading_id)
