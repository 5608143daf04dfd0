"""Celery app. Without REDIS_URL tasks run eagerly in-process (settings.CELERY_TASK_ALWAYS_EAGER)."""
import os

from celery import Celery, Task

from iris_portal.stack_reserve import reserved_stack_call

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iris_portal.settings")


class ReservedStackTask(Task):
    """Tasks run in a frame-stack chunk of their own, as web requests do (iris_portal.stack_reserve:
    deep work such as a PDF render must not straddle a chunk boundary)."""

    def __call__(self, *args, **kwargs):
        return reserved_stack_call(super().__call__, *args, **kwargs)


app = Celery("iris_portal", task_cls=ReservedStackTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
