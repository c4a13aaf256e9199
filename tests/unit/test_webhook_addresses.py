"""Webhook destinations: every special-purpose address is refused, also when IPv6 carries an internal IPv4."""

from __future__ import annotations

import msgspec
import pytest

from services.settings import load_settings
from services.webhooks.urls import is_public


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # cloud metadata
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:0:7f00:1",  # IPv4-translated
        "::127.0.0.1",  # IPv4-compatible
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # NAT64 local use
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fec0::1",  # site-local
        "2001:db8::1",  # documentation
        "ff02::1",  # multicast
    ],
)
def test_special_purpose_addresses_are_not_public(address: str):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["145.97.39.155", "2a00:1450:400e:80c::200e", "9.9.9.9"])
def test_ordinary_public_addresses_are(address: str):
    assert is_public(address)


@pytest.mark.parametrize("value", ["prod", "productie", "Production", "staging"])
def test_an_unknown_environment_refuses_to_start(value: str):
    with pytest.raises(msgspec.ValidationError, match="environment"):
        load_settings({"LEERKRING_ENVIRONMENT": value}, None)


def test_private_webhook_destinations_are_never_allowed_in_production():
    production = load_settings({"LEERKRING_ENVIRONMENT": "production", "LEERKRING_WEBHOOK_ALLOW_PRIVATE": "1"}, None)
    assert not production.webhooks_may_reach_private
    assert load_settings({"LEERKRING_WEBHOOK_ALLOW_PRIVATE": "true"}, None).webhooks_may_reach_private
    assert not load_settings({}, None).webhooks_may_reach_private
