"""The start page: the clinic dashboard, or the links of a user's other roles."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ..audit import audit_record
from ..dashboard import dashboard_build
from ..site_switcher import current_site
from ..permissions import can_see_organization_data


@login_required
def home(request):
    if not can_see_organization_data(request.user):
        return render(request, "portal/welcome.html")
    site = current_site(request)
    dashboard = dashboard_build(user=request.user, site=site)
    audit_record(request=request, action="list", object_type="order")
    return render(request, "portal/dashboard.html", {"dashboard": dashboard, "site": site})
