"""Unit tier: pure Python, no sockets (pytest-socket blocks every network call)."""
import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def _no_sockets():
    disable_socket()
    yield
    enable_socket()
