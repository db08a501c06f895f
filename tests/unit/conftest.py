"""Unit tier: pure Python, no sockets (pytest-socket blocks every network call)."""
import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_sockets():
    disable_socket()
    yield
    enable_socket()


# Hypothesis: no example database written into the working tree, no per-example deadline
# (a loaded CI machine must not turn a correct property into a flaky failure).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("unit", database=None, deadline=None)
_hypothesis_settings.load_profile("unit")
