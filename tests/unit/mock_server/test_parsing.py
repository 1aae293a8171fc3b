"""Values a person writes: durations, latency distributions, shares, host allow-lists."""

from __future__ import annotations

import ipaddress
import random
import statistics
from collections.abc import Callable

import pytest

from mock_server.parsing import HostAllowList, Latency, parse_duration, parse_latency, parse_shares
from mock_server.services.faults import FAULTS

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


def fault_shares(raw: str | dict[str, object]) -> dict[str, float]:
    return parse_shares(raw, FAULTS, "fault")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("200ms", 0.2), ("1.5s", 1.5), ("2", 2.0), (" 0ms ", 0.0)],
    ids=["ms", "s", "bare", "zero-padded"],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", Latency("fixed", 0.25)),
        ("uniform:100ms:300ms", Latency("uniform", 0.1, 0.3)),
        ("lognormal:200ms:0.5", Latency("lognormal", 0.2, 0.5)),
    ],
    ids=["fixed", "uniform", "lognormal"],
)
def test_parse_latency(text: str, expected: Latency) -> None:
    assert parse_latency(text) == expected


def test_latency_samples_follow_their_distribution() -> None:
    rng = random.Random(1)
    assert Latency("fixed", 0.2).sample(rng) == 0.2
    uniform = [Latency("uniform", 0.1, 0.3).sample(rng) for _ in range(500)]
    assert min(uniform) >= 0.1
    assert max(uniform) <= 0.3
    lognormal = [Latency("lognormal", 0.2, 0.5).sample(rng) for _ in range(2000)]
    assert statistics.median(lognormal) == pytest.approx(0.2, rel=0.1)


def test_shares_from_text_and_mapping() -> None:
    assert fault_shares("drop=0.01, 503=0.02") == {"drop": 0.01, "503": 0.02}
    assert fault_shares({"slow-body": 0.5}) == {"slow-body": 0.5}


# parser -> test id -> (bad text, what its error must say)
BAD_TEXT: dict[Callable[[str], object], dict[str, tuple[str, str]]] = {
    parse_duration: {
        "word": ("fast", "'fast' is not a duration"),
        "negative": ("-5ms", "'-5ms' is not a duration"),
        "too-long": ("301s", "longer than 300 s"),
    },
    parse_latency: {
        "uniform-reversed": ("uniform:300ms:100ms", "low bound is above the high bound"),
        "sigma-word": ("lognormal:200ms:x", "sigma 'x' is not a number"),
        "sigma-huge": ("lognormal:200ms:9", "sigma must be between 0 and 5"),
        "unknown-kind": ("gamma:1s:2", "is not a latency"),
    },
    fault_shares: {
        "unknown": ("teapot=0.1", "'teapot' is not a fault"),
        "no-share": ("drop", "expected fault=share pairs"),
        "word-share": ("drop=lots", "the share is not a number"),
        "share-over-1": ("drop=1.5", "between 0 and 1"),
        "sum-over-1": ("drop=0.6,500=0.6", "add up to more than 1"),
    },
}


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        pytest.param(parse, text, message, id=f"{parse.__name__}-{name}")
        for parse, cases in BAD_TEXT.items()
        for name, (text, message) in cases.items()
    ],
)
def test_bad_text_is_a_value_error_naming_the_problem(
    parse: Callable[[str], object], text: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("entries", "host", "allowed"),
    [
        (("localhost",), "LOCALHOST.", True),
        (("127.0.0.0/8",), "127.1.2.3", True),
        (("::1",), "[::1]", True),
        (("*.example.com",), "hooks.example.com", True),
        (("*.example.com",), "example.com.evil", False),
        (("*",), "anything.test", True),
        (("localhost", "127.0.0.0/8"), "10.0.0.1", False),
        ((), "localhost", False),
    ],
    ids=["name", "network", "ipv6-literal", "suffix", "suffix-spoof", "any", "outside", "empty"],
)
def test_host_allow_list_matches_names_as_written(entries: tuple[str, ...], host: str, allowed: bool) -> None:
    assert HostAllowList.parse(entries).allows_name(host) is allowed


def test_host_allow_list_checks_resolved_addresses() -> None:
    hosts = HostAllowList.parse(["127.0.0.0/8", "images.local"])
    assert hosts.allows_address(ipaddress.ip_address("127.0.0.9"))
    assert not hosts.allows_address(ipaddress.ip_address("::1"))


@pytest.mark.parametrize("entry", ["", "a/b", "bad host", "a*b"], ids=["empty", "slash", "space", "star"])
def test_host_allow_list_names_a_bad_entry(entry: str) -> None:
    with pytest.raises(ValueError, match="host"):
        HostAllowList.parse([entry])
