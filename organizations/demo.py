"""The demo data set of SPEC section 8 (``manage.py seed_demo``). Idempotent."""
import uuid
from dataclasses import dataclass

from django.db import transaction

from orders.reference import ALL_EVALUATION_TYPE_CODES

from .models import HL7Interface, HL7SiteMapping, Organization, PatientScope, Provider, ProviderLicense, Site, User

DEMO_CLIENT_GUID = uuid.UUID("63E3C9EF-66AC-4154-B0C2-494515EB99A7")
HOST_CLIENT_GUID = uuid.UUID("00000000-0000-4000-8000-000000000001")
PRACTICE_CLIENT_GUID = uuid.UUID("00000000-0000-4000-8000-000000000002")
DEMO_PASSWORD = "iris-demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    organization: str


def seed_demo() -> list[DemoLogin]:
    with transaction.atomic():
        host, _ = Organization.objects.update_or_create(
            client_guid=HOST_CLIENT_GUID,
            defaults={"name": "IRIS Reading Center", "is_host": True, "evaluation_types": ALL_EVALUATION_TYPE_CODES},
        )
        demo, _ = Organization.objects.update_or_create(
            client_guid=DEMO_CLIENT_GUID,
            defaults={"name": "Demo Health", "is_host": False, "patient_scope": PatientScope.SITE,
                      "allow_site_autocreate": False, "allow_camera_autocreate": True,
                      "evaluation_types": ALL_EVALUATION_TYPE_CODES,
                      "emergency_contacts": "emergency@demohealth.example"},
        )
        practice, _ = Organization.objects.update_or_create(
            client_guid=PRACTICE_CLIENT_GUID,
            defaults={"name": "Sunshine Primary Care", "evaluation_types": ["DR"]},
        )
        site, _ = Site.objects.update_or_create(
            organization=demo, local_id="PC1234",
            defaults={"name": "Demo Health Primary Care", "street1": "100 Main Street", "city": "Tampa",
                      "state": "FL", "postal_code": "33602"},
        )
        Site.objects.update_or_create(
            organization=demo, local_id="TX200",
            defaults={"name": "Demo Health Austin", "street1": "200 Congress Ave", "city": "Austin",
                      "state": "TX", "postal_code": "78701"},
        )
        interface, _ = HL7Interface.objects.update_or_create(
            organization=demo, name="Demo ORM feed",
            defaults={"sending_facilities": ["DEMOHEALTH"], "sending_applications": [],
                      "mrn_source": HL7Interface.MrnSource.PID_2, "site_source": HL7Interface.SiteSource.PV1_3},
        )
        HL7SiteMapping.objects.update_or_create(interface=interface, code="PC1234", defaults={"site": site})

        grader_npi, _ = Provider.objects.update_or_create(
            npi="1234567893", defaults={"first_name": "Grace", "last_name": "Reader", "degrees": "OD",
                                        "signature": "Grace Reader, OD"})
        for state in ("FL", "TX"):
            ProviderLicense.objects.get_or_create(provider=grader_npi, state=state)
        pcp_npi, _ = Provider.objects.get_or_create(npi="1234567890", defaults={"first_name": "Pat", "last_name": "Primary", "degrees": "MD"})

        users = [
            ("admin", host, {"is_staff": True, "is_superuser": True}, "platform staff"),
            ("grader", host, {"is_grader": True, "provider": grader_npi}, "grader (licensed FL, TX)"),
            ("ai-service", host, {"is_ai_service": True}, "AI grading service"),
            ("clinic", demo, {"is_clinic_staff": True}, "clinic staff"),
            ("orgadmin", demo, {"is_org_admin": True, "is_clinic_staff": True}, "organization admin"),
            ("integration", demo, {"is_integration_admin": True}, "integration administrator"),
            ("pcp", practice, {"is_pcp": True, "provider": pcp_npi}, "PCP (NPI 1234567890)"),
        ]
        logins = []
        for username, org, flags, role in users:
            user, created = User.objects.get_or_create(username=username, defaults={"organization": org, **flags})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.email = f"{username}@example.org"
                user.save()
            logins.append(DemoLogin(username, role, org.name))
        from grading.demo import seed_grading_defaults

        seed_grading_defaults()
    return logins
