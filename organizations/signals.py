"""Keep the per-process reference caches (organizations/selectors.py) honest after edits."""
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from iris_portal.ttl_cache import clear_all

from .models import Device, Organization, Provider, Site


@receiver([post_save, post_delete], sender=Organization)
@receiver([post_save, post_delete], sender=Site)
@receiver([post_save, post_delete], sender=Device)
@receiver([post_delete], sender=Provider)
def reference_data_changed(**kwargs) -> None:
    clear_all()
