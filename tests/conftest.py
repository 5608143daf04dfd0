"""Test setup: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set (CI), SQLite otherwise."""
import pytest

from iris_portal.ttl_cache import clear_all
from organizations.demo import seed_demo
from tests.browser_support import chromium, page  # noqa: F401 - the browser tests' fixtures


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Every test writes files into its own folder; passwords hash fast."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    clear_all()  # per-process reference caches must not outlive a test's database rows
    yield
    clear_all()


@pytest.fixture
def demo(db):
    """The seed_demo data set (Demo Health, site PC1234 in FL, one user per role)."""
    seed_demo()
    from organizations.models import Organization

    return Organization.objects.get(name="Demo Health")
