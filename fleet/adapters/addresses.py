"""Special-purpose addresses: where the host's git may not connect on a story's behalf.

The table is the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and the RFCs
that updated them), plus multicast and the deprecated blocks that still route somewhere
unexpected. Python's ``ipaddress`` flags miss some of them (``100.64.0.0/10``, the NAT64 and
6to4 forms of a private IPv4 address), so the check is this table, nothing else. An IPv6
address that carries an IPv4 address (mapped, NAT64) is judged by the IPv4 address it carries.
"""

from __future__ import annotations

import ipaddress
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SPECIAL_PURPOSE: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(block), name)
    for block, name in (
        ("0.0.0.0/8", '"this network"'),
        ("10.0.0.0/8", "private use"),
        ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local (cloud metadata services)"),
        ("172.16.0.0/12", "private use"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation (TEST-NET-1)"),
        ("192.31.196.0/24", "AS112-v4"),
        ("192.52.193.0/24", "AMT"),
        ("192.88.99.0/24", "6to4 relay anycast (deprecated)"),
        ("192.168.0.0/16", "private use"),
        ("192.175.48.0/24", "direct delegation AS112 service"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation (TEST-NET-2)"),
        ("203.0.113.0/24", "documentation (TEST-NET-3)"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("255.255.255.255/32", "limited broadcast"),
        ("::1/128", "loopback"),
        ("::/128", "unspecified"),
        ("::/96", "IPv4-compatible (deprecated)"),
        ("64:ff9b:1::/48", "local-use IPv4/IPv6 translation"),
        ("100::/64", "discard-only"),
        ("100:0:0:1::/64", "dummy IPv6 prefix"),
        ("2001::/23", "IETF protocol assignments (Teredo, benchmarking, ORCHID)"),
        ("2001:db8::/32", "documentation"),
        ("2002::/16", "6to4"),
        ("2620:4f:8000::/48", "direct delegation AS112 service"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing (SRv6) SIDs"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local (deprecated)"),
        ("ff00::/8", "multicast"),
        # judged by the IPv4 address they carry (below), listed so the table names them
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("64:ff9b::/96", "IPv4/IPv6 translation (NAT64)"),
    )
)
_CARRIERS = (ipaddress.ip_network("::ffff:0:0/96"), ipaddress.ip_network("64:ff9b::/96"))


def special_purpose(addr: Address) -> str | None:
    """The registry entry ``addr`` falls in (``"100.64.0.0/10 shared address space..."``), or None."""
    if isinstance(addr, ipaddress.IPv6Address):
        for carrier in _CARRIERS:
            if addr in carrier:  # the IPv4 address in its low 32 bits is where it goes
                inner = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
                why = special_purpose(inner)
                return f"{carrier} carrying {inner}: {why}" if why else None
    for net, name in SPECIAL_PURPOSE:
        if addr.version == net.version and addr in net and net not in _CARRIERS:
            return f"{net} {name}"
    return None


def host_problem(host: str) -> str | None:
    """Why ``host`` (a name or an address literal) is not a place to connect to, or None.

    A name is resolved and refused if any of its addresses is special-purpose. A name that
    does not resolve passes: git will report it. (git resolves the name again when it
    connects; see docs/security.md on DNS rebinding.)
    """
    literal = host.strip("[]").split("%")[0]
    try:
        addrs: set[Address] = {ipaddress.ip_address(literal)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None
        addrs = {ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos}
    for addr in sorted(addrs, key=str):
        if why := special_purpose(addr):
            named = "" if literal == str(addr) else f" is {addr},"
            return f"{host}{named} a special-purpose address ({why})"
    return None
