"""The import pages: integration administrators of the organization only (others 403), another
organization's import is 404, uploads are kept and imported, the error report downloads, the
mapping editor works from a sample file, and everything is audited."""
import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from iris_portal.models import AuditEvent
from orders.models import ImportJob, ImportMapping, ImportStatus, Order
from tests.factories import OrganizationFactory, UserFactory

from orders.intake.csv.job import import_job_run

from .import_support import celery_queue, csv_bytes, row, run_import

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(demo):
    return UserFactory(organization=demo, username="integrator", is_clinic_staff=False, is_integration_admin=True)


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def upload(client, content: bytes, name="orders.csv"):
    return client.post(reverse("orders:imports"), {"file": SimpleUploadedFile(name, content)})


def test_upload_stores_the_file_queues_the_import_and_shows_the_summary(signed_in, demo, admin,
                                                                        django_capture_on_commit_callbacks):
    with celery_queue() as take:
        with django_capture_on_commit_callbacks(execute=True) as on_commit:
            response = upload(signed_in, csv_bytes([row("A", "M1"), row("B", "M2", dob="bad")]))
            assert ImportJob.objects.get().status == "queued" and take(0) == []  # nothing sent before commit
        job = ImportJob.objects.get()
        assert len(on_commit) == 1 and take(1) == [("orders.tasks.import_job_run", [job.pk])]
    import_job_run(job.pk)  # what the worker does with that message
    assert response.status_code == 302 and response.url == reverse("orders:import-detail", args=[job.pk])
    assert (job.organization, job.created_by, job.source) == (demo, admin, "portal")
    assert job.file.storage.exists(job.file.name)
    page = signed_in.get(response.url).content.decode()
    assert 'data-status="done"' in page and "hx-trigger" not in page  # finished: no more polling
    assert "1 new orders" in page and "PatientDob" in page and "is not a recognised date" in page
    assert Order.objects.filter(local_id="A", organization=demo).exists()
    history = signed_in.get(reverse("orders:imports")).content.decode()
    assert f'data-import="{job.pk}"' in history and "orders.csv" in history


def test_an_upload_that_is_not_a_csv_or_xlsx_is_refused_by_the_form(signed_in):
    response = upload(signed_in, b"MZ\x90\x00", name="setup.exe")
    assert response.status_code == 200 and "Upload a .csv" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_running_import_polls_its_progress(signed_in, demo, admin):
    job = ImportJob.objects.create(organization=demo, source="portal", file="imports/x.csv", original_name="x.csv",
                                   sha256="0" * 64, status=ImportStatus.RUNNING, total_rows=10, done_rows=4,
                                   failed_rows=1)
    fragment = signed_in.get(reverse("orders:import-progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in fragment and "4 / 10 rows" in fragment and 'data-failed>1<' in fragment
    assert 'style="width: 40%"' in fragment
    assert not AuditEvent.objects.filter(object_type="import_job", action="view").exists()  # counts only, no PHI


def test_the_error_report_downloads_the_original_rows_with_their_errors(signed_in, demo):
    job, _ = run_import(demo, csv_bytes([row("A", "M1"), row("B", "M2", dob="bad")]))
    response = signed_in.get(reverse("orders:import-errors", args=[job.pk]))
    assert response.status_code == 200 and response["Content-Disposition"] == 'attachment; filename="orders.errors.csv"'
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert lines[1][:8] == row("B", "M2", dob="bad") and lines[1][8:10] == ["3", "PatientDob"]
    assert AuditEvent.objects.filter(action="download", object_type="import_job_errors", object_id=str(job.pk)).exists()


@pytest.mark.parametrize("flags", [
    {"is_clinic_staff": True}, {"is_org_admin": True}, {"is_grader": False, "is_pcp": False},
])
def test_only_integration_administrators_may_use_the_pages(client, demo, flags):
    job, _ = run_import(demo, csv_bytes([row("A", "M1")]))
    client.force_login(UserFactory(organization=demo, **{"is_clinic_staff": False, **flags}))
    for url in (reverse("orders:imports"), reverse("orders:import-mapping")):
        assert client.get(url).status_code == 403, url
    for name in ("orders:import-detail", "orders:import-progress", "orders:import-errors"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name  # not even its existence
    assert client.post(reverse("orders:imports"), {"file": SimpleUploadedFile("o.csv", b"a,b\n")}).status_code == 403
    assert client.post(reverse("orders:import-mapping-preview")).status_code == 403


def test_another_organizations_import_is_404(client, demo):
    job, _ = run_import(demo, csv_bytes([row("A", "M1")]))
    stranger = UserFactory(organization=OrganizationFactory(), is_integration_admin=True)
    client.force_login(stranger)
    for name in ("orders:import-detail", "orders:import-progress", "orders:import-errors"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404, name
    history = client.get(reverse("orders:imports")).content.decode()
    assert f'data-import="{job.pk}"' not in history


def test_the_mapping_editor_starts_from_a_sample_and_previews_the_first_rows(signed_in, demo):
    sample = csv_bytes([["PC1234", "M1", "Ada", "Lovelace", "1/2/1960", "O1", "x"],
                        ["PC1234", "M2", "Bob", "Byron", "31/31/1960", "O2", "y"]],
                       ["Clinic", "MRN", "Given", "Family", "Born", "Order #", "Notes"])
    response = signed_in.post(reverse("orders:import-mapping"),
                              {"sample": "1", "file": SimpleUploadedFile("export.csv", sample)})
    assert response.status_code == 302
    page = signed_in.get(reverse("orders:import-mapping")).content.decode()
    assert "export.csv" in page and 'name="col_0"' in page and 'name="col_6"' in page
    assert "none of the columns" in page  # nothing maps by default: the preview says so

    choices = {"col_0": "Site.LocalId", "col_1": "Patient.LocalId", "col_2": "Patient.Name.First",
               "col_3": "Patient.Name.Last", "col_4": "Patient.Dob", "col_5": "Order.LocalId", "col_6": "",
               "default_evaluation_types": ["DR"]}
    preview = signed_in.post(reverse("orders:import-mapping-preview"), choices).content.decode()
    assert "Lovelace" in preview and "1/2/1960" in preview and "Patient.Name.Last" in preview
    assert "Born: " in preview and "is not a valid date" in preview  # row 3's error, named by the file's header
    assert "&#x27;Notes&#x27; maps to no order field" not in preview  # deliberately ignored
    assert ImportMapping.objects.get(organization=demo).columns == {}  # a preview saves nothing

    response = signed_in.post(reverse("orders:import-mapping"), {"save": "1", **choices})
    assert response.status_code == 302
    mapping = ImportMapping.objects.get(organization=demo)
    assert mapping.columns["mrn"] == "Patient.LocalId" and mapping.columns["notes"] == ""
    assert mapping.defaults == {"Order.EvaluationTypes": "DR"}
    # The next import of such a file uses the mapping.
    _, summary = run_import(demo, sample)
    assert (summary["created"], summary["failed"]) == (1, 1) and summary["errors"][0]["column"] == "Born"
    assert AuditEvent.objects.filter(object_type="import_mapping", action="change").count() == 2


def test_views_are_audited(signed_in, demo):
    job, _ = run_import(demo, csv_bytes([row("A", "M1", dob="bad")]))
    signed_in.get(reverse("orders:imports"))
    signed_in.get(reverse("orders:import-detail", args=[job.pk]))
    signed_in.get(reverse("orders:import-progress", args=[job.pk]))  # finished: shows the row errors
    actions = list(AuditEvent.objects.filter(object_type="import_job").values_list("action", "object_id"))
    assert ("list", "") in actions and actions.count(("view", str(job.pk))) == 2
