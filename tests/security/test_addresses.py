"""No repository source on a special-purpose address (the IANA IPv4 and IPv6 Special-Purpose
Address Registries, RFC 6890 and its updates): through the workspace runner's clone path, one
address of every block, IPv6 forms that carry an IPv4 address included; public addresses pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet.adapters import addresses, git_host
from fleet.adapters.workspace import Sources, WorkspaceRunner
from fleet.errors import InvalidInput

SPECIAL = [
    "0.1.2.3",  # "this network"
    "10.20.30.40",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "100.127.255.254",
    "127.0.0.2",
    "169.254.169.254",  # link-local: cloud metadata services
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.9",  # IETF protocol assignments
    "192.0.2.10",  # TEST-NET-1
    "192.31.196.1",  # AS112-v4
    "192.52.193.1",  # AMT
    "192.88.99.1",  # 6to4 relay anycast
    "192.168.1.1",
    "192.175.48.1",  # direct delegation AS112
    "198.18.0.1",  # benchmarking
    "198.19.255.1",
    "198.51.100.7",  # TEST-NET-2
    "203.0.113.9",  # TEST-NET-3
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
    "[::ffff:100.64.0.1]",
    "[::127.0.0.1]",  # IPv4-compatible (deprecated)
    "[64:ff9b::a00:1]",  # NAT64 of 10.0.0.1
    "[64:ff9b:1::1]",  # local-use NAT64
    "[100::1]",  # discard-only
    "[2001::1]",  # Teredo
    "[2001:2::1]",  # benchmarking
    "[2001:db8::1]",  # documentation
    "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
    "[2620:4f:8000::1]",  # AS112 direct delegation
    "[3fff::1]",  # documentation (RFC 9637)
    "[5f00::1]",  # SRv6 SIDs
    "[fc00::1]",
    "[fd12:3456::1]",  # unique local
    "[fe80::1]",  # link-local
    "[fec0::1]",  # site-local (deprecated)
    "[ff02::1]",  # multicast
]
PUBLIC = ["140.82.112.3", "8.8.8.8", "[2606:4700:4700::1111]", "[::ffff:8.8.8.8]",
          "[64:ff9b::808:808]"]  # fmt: skip


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceRunner:
    root: Path = tmp_path_factory.mktemp("addr")
    return WorkspaceRunner(None, root=root / "runs", sources=Sources(repo_roots=[root]))  # type: ignore[arg-type]


@pytest.mark.parametrize("host", SPECIAL)
def test_a_special_purpose_address_is_not_a_repository_source(runner, host):
    for url in (f"https://{host}/team/x.git", f"ssh://git@{host}/team/x.git"):
        with pytest.raises(InvalidInput, match="special-purpose"):
            runner.prepare(url, branch="fleet/x")
    assert list(runner.root.iterdir()) == [] if runner.root.exists() else True


@pytest.mark.parametrize("host", PUBLIC)
def test_a_public_address_is_accepted(host):
    url = f"https://{host}/team/x.git"
    assert git_host.check_source(url, local_roots=()) == url


def test_the_table_names_every_block_the_checks_use():
    blocks = {str(n) for n, _ in addresses.SPECIAL_PURPOSE}
    for block in ("100.64.0.0/10", "::ffff:0:0/96", "64:ff9b::/96", "2002::/16", "fc00::/7"):
        assert block in blocks
