"""Harness configuration, token files and the rate limiter as units."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness_testlib import KEY_A

from harness.auth import AuthResult, TokenFileError, TokenStore, parse_token_file
from harness.config import ConfigError, from_env
from harness.ratelimit import RateLimiter

BASE = {"MODEL_URI": "gs://bucket-a/model.tar.enc", "KMS_KEY_URI": "gcp-kms://" + KEY_A}


def test_defaults_follow_the_deployment_contract():
    config = from_env(BASE)
    assert config.port == 8443 and config.bind == "0.0.0.0"  # noqa: S104 - the contract
    assert config.tls_cert == Path("/etc/harness/tls/tls.crt")
    assert config.tls_key == Path("/etc/harness/tls/tls.key")
    assert config.token_file == Path("/etc/harness/token/token")
    assert config.rate_limit == 100
    assert (
        config.model_sha256 is None
        and config.storage_emulator is None
        and config.kms_emulator is None
    )
    assert config.kms_key_name == KEY_A and config.model_uri.bucket == "bucket-a"


def test_all_values_are_read():
    config = from_env(
        {
            **BASE,
            "MODEL_SHA256": "AB" * 32,
            "HARNESS_PORT": "9443",
            "HARNESS_BIND": "127.0.0.1",
            "HARNESS_TLS_DIR": "/tls",
            "HARNESS_TOKEN_FILE": "/tok/t",
            "HARNESS_RATE_LIMIT": "0",
            "HARNESS_MAX_BODY_BYTES": "2048",
            "HARNESS_MAX_BATCH": "5",
            "HARNESS_MAX_REVIEW_CHARS": "7",
            "HARNESS_LOG_LEVEL": "DEBUG",
            "STORAGE_EMULATOR_HOST": "http://127.0.0.1:4443",
            "KMS_EMULATOR_HOST": "127.0.0.1:9011",
            "UNRELATED": "ignored",
        }
    )
    assert config.model_sha256 == "ab" * 32 and config.port == 9443 and config.rate_limit == 0
    assert (config.max_body_bytes, config.max_batch, config.max_review_chars) == (2048, 5, 7)
    assert config.log_level == "debug" and config.kms_emulator == "127.0.0.1:9011"


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"MODEL_URI": None}, "MODEL_URI is not set"),
        ({"MODEL_URI": "s3://bucket/x"}, "MODEL_URI"),
        ({"MODEL_URI": "gs://bucket-a"}, "MODEL_URI"),
        ({"KMS_KEY_URI": None}, "KMS_KEY_URI is not set"),
        ({"KMS_KEY_URI": "gcp-kms://projects/p/locations/l"}, "KMS_KEY_URI"),
        ({"KMS_KEY_URI": "gcp-kms://" + KEY_A + "/cryptoKeyVersions/1"}, "KMS_KEY_URI"),
        ({"MODEL_SHA256": "abc"}, "MODEL_SHA256='abc'"),
        ({"HARNESS_PORT": "https"}, "HARNESS_PORT='https'"),
        ({"HARNESS_PORT": "70000"}, "HARNESS_PORT='70000'"),
        ({"HARNESS_PORT": "0"}, "HARNESS_PORT"),
        ({"HARNESS_RATE_LIMIT": "-1"}, "HARNESS_RATE_LIMIT"),
        ({"HARNESS_RATE_LIMIT": "1e3"}, "HARNESS_RATE_LIMIT"),
        ({"HARNESS_MAX_BATCH": "0"}, "HARNESS_MAX_BATCH"),
        ({"HARNESS_MAX_BODY_BYTES": "10"}, "HARNESS_MAX_BODY_BYTES"),
        ({"HARNESS_BIND": "everywhere"}, "HARNESS_BIND"),
        ({"HARNESS_LOG_LEVEL": "verbose"}, "HARNESS_LOG_LEVEL"),
        ({"HARNESS_TLS_DIR": "relative/dir"}, "HARNESS_TLS_DIR"),
        ({"HARNESS_TOKEN_FILE": "token"}, "HARNESS_TOKEN_FILE"),
        ({"HARNESS_RATELIMIT": "5"}, "unknown variable HARNESS_RATELIMIT"),
        ({"STORAGE_EMULATOR_HOST": "http://10.0.0.1:80"}, "STORAGE_EMULATOR_HOST"),
        ({"KMS_EMULATOR_HOST": "kms.example.com:443"}, "KMS_EMULATOR_HOST"),
    ],
)
def test_bad_values_name_the_variable(change, variable):
    env = dict(BASE)
    for key, value in change.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = value
    with pytest.raises(ConfigError) as info:
        from_env(env)
    assert variable in str(info.value)


# token file -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"\n  \n", "empty"),
        (b"short", "need >= 16"),
        (b"has spaces inside the token", "b64token"),
        (b"caf\xc3\xa9-token-long-enough", "not ASCII"),
        (b"\n".join([b"t" * 20 + bytes([65 + i]) for i in range(9)]), "at most 8"),
        (b"x" * 70_000, "larger than"),
    ],
)
def test_token_file_validation(raw, message):
    with pytest.raises(TokenFileError, match=message):
        parse_token_file(raw, Path("/t"))


def test_token_file_accepts_trailing_newline_and_several_tokens():
    assert parse_token_file(b"a" * 20 + b"\n", Path("/t")) == (b"a" * 20,)
    assert len(parse_token_file(b"a" * 20 + b"\n" + b"b" * 20 + b"==\n", Path("/t"))) == 2


def test_token_error_never_contains_the_token(tmp_path):
    secret = "s3cr3t-but-has spaces"
    with pytest.raises(TokenFileError) as info:
        parse_token_file(secret.encode(), tmp_path / "t")
    assert secret not in str(info.value)


def test_token_store_initial_load_errors(tmp_path):
    with pytest.raises(TokenFileError, match="cannot read"):
        TokenStore(tmp_path / "missing").load()
    store = TokenStore(tmp_path / "missing")
    assert store.check("Bearer " + "a" * 20) is AuthResult.INVALID  # never loaded: nothing valid


# rate limiter -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_bursts_then_refills_continuously():
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one token per second
    assert all(limiter.acquire("a") == 0.0 for _ in range(60))
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)
    assert RateLimiter.retry_after(wait) == "1"
    clock.now += 0.5
    assert limiter.acquire("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("b") == 0.0  # per client


def test_disabled_limiter_and_bounded_memory():
    assert RateLimiter(0).acquire("x") == 0.0 and not RateLimiter(0).enabled
    clock = Clock()
    limiter = RateLimiter(1, clock=clock, max_clients=3)  # a table of 3 buckets
    for client in "abc":
        clock.now += 1
        assert limiter.acquire(client) == 0.0
    assert limiter.acquire("a") > 0  # "a" is limited while it holds a bucket
    clock.now += 1
    assert limiter.acquire("d") == 0.0  # evicts the least recently seen: "b"
    assert limiter.acquire("c") > 0 and limiter.acquire("b") == 0.0
    with pytest.raises(ValueError):
        RateLimiter(-1)


def test_max_elements_is_read_and_checked():
    assert from_env(BASE).max_elements == 16384
    assert from_env({**BASE, "HARNESS_MAX_ELEMENTS": "500"}).max_elements == 500
    with pytest.raises(ConfigError) as caught:
        from_env({**BASE, "HARNESS_MAX_ELEMENTS": "0"})
    assert (
        str(caught.value) == "HARNESS_MAX_ELEMENTS='0': expected a whole number in [1, 268435456]"
    )
