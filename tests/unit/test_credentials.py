"""R28: the FTP password of a space is derived from a secret and the contract id, never stored; the
node gets an argon2 hash of it."""
from __future__ import annotations

import re

import pytest

from chalicelib.domain.credentials import FTP_PASSWORD_LENGTH, ftp_password, ftp_password_hash


def test_R28_ftp_password_is_deterministic_for_a_secret_and_a_contract():
    assert ftp_password("secret-1", "ctr_1") == ftp_password("secret-1", "ctr_1")


def test_R28_ftp_password_is_20_lowercase_base32_characters():
    password = ftp_password("secret-1", "ctr_1")
    assert len(password) == FTP_PASSWORD_LENGTH == 20
    assert re.fullmatch(r"[a-z2-7]{20}", password)


def test_R28_ftp_password_differs_per_contract_and_per_secret():
    passwords = {ftp_password(secret, contract) for secret in ("secret-1", "secret-2")
                 for contract in ("ctr_1", "ctr_2", "ctr_10")}
    assert len(passwords) == 6


@pytest.mark.parametrize("secret, contract_id", [("", "ctr_1"), ("secret-1", "")])
def test_R28_ftp_password_needs_a_secret_and_a_contract(secret, contract_id):
    with pytest.raises(ValueError):
        ftp_password(secret, contract_id)


def test_R28_the_hash_verifies_the_password_and_nothing_else():
    from argon2 import PasswordHasher
    from argon2.exceptions import VerifyMismatchError
    password = ftp_password("secret-1", "ctr_1")
    hashed = ftp_password_hash(password)
    assert hashed.startswith("$argon2id$") and password not in hashed
    assert hashed != ftp_password_hash(password)  # salted
    assert PasswordHasher().verify(hashed, password)
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify(hashed, ftp_password("secret-1", "ctr_2"))


def test_R28_a_real_stage_refuses_to_start_without_its_ftp_password_secret():
    from chalicelib.config import Settings
    env = {"SOHO_LOCAL_MODE": "0", "PAYMENT_WEBHOOK_SECRET": "whsec_x", "OPERATOR_API_KEY": "op_key_long_enough"}
    with pytest.raises(RuntimeError, match="SOHO_FTP_PASSWORD_SECRET"):
        Settings.from_env(env)
    settings = Settings.from_env({**env, "SOHO_FTP_PASSWORD_SECRET": "a-real-secret", "SOHO_FTP_HOST": "ftp.node1",
                                  "SOHO_AUTH_TOKEN_SECRET": "a-real-auth-secret", "SOHO_NODE_API_SECRET": "n",
                                  "SOHO_REGISTRY_PASSWORDS": '{"afnic": "p"}'})
    assert (settings.ftp_password_secret, settings.ftp_host) == ("a-real-secret", "ftp.node1")
    assert Settings.from_env({"SOHO_LOCAL_MODE": "1"}).ftp_password_secret == "ftp_local_dev_secret"


def test_R28_the_ftp_password_secret_is_a_no_echo_parameter_given_to_every_function():
    from infra.appinfo import LambdaFunction
    from infra.definitions import resources
    from infra.template import function_logical_id, merge_template
    functions = [LambdaFunction("api_handler", "api"), LambdaFunction("redispatch_pending_commands", "schedule")]
    template = merge_template(app_name="app", stage="t", prefix="soho-t", functions=functions,
                              definitions=resources())
    parameter = template["Parameters"]["FtpPasswordSecret"]
    assert parameter["NoEcho"] is True and parameter["MinLength"] >= 32
    for function in functions:
        variables = template["Resources"][function_logical_id(function.name)]["Properties"]["Environment"]["Variables"]
        assert variables["SOHO_FTP_PASSWORD_SECRET"] == {"Ref": "FtpPasswordSecret"}
