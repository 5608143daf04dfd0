from django.apps import AppConfig


class IrisPortalConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "iris_portal"
    verbose_name = "IRIS Portal"
