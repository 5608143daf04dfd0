"""Celery app. Without REDIS_URL tasks run eagerly in-process (settings.CELERY_TASK_ALWAYS_EAGER)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iris_portal.settings")

app = Celery("iris_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
