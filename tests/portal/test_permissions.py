"""Role predicates and the role_required decorator (403 on pages, 404 on object pages)."""
import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse

from iris_portal.permissions import (
    can_administer_organization, can_see_organization_data, needs_two_factor, role_required,
)
from tests.factories import ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_predicates():
    clinic = UserFactory()
    pcp = UserFactory(is_clinic_staff=False, is_pcp=True, provider=ProviderFactory())
    admin = UserFactory(is_clinic_staff=False, is_org_admin=True)
    integration = UserFactory(is_clinic_staff=False, is_integration_admin=True)
    orphan = UserFactory(organization=None, is_superuser=True)
    assert can_see_organization_data(clinic) and can_see_organization_data(admin)
    assert not can_see_organization_data(pcp) and not can_see_organization_data(integration)
    assert not can_see_organization_data(orphan)
    assert can_administer_organization(admin) and not can_administer_organization(clinic)
    assert needs_two_factor(admin) and not needs_two_factor(clinic)
    clinic.is_active = False
    assert not can_see_organization_data(clinic)


def test_role_required_answers_403_on_pages_and_404_on_objects(rf):
    view = role_required(can_administer_organization)(lambda request, **kwargs: HttpResponse("ok"))
    request = rf.get("/")
    request.user = UserFactory()
    with pytest.raises(PermissionDenied):
        view(request)
    with pytest.raises(Http404):
        view(request, pk=1)
    with pytest.raises(Http404):
        view(request, order_pk=1)
    request.user = UserFactory(is_org_admin=True)
    assert view(request, pk=1).content == b"ok"
