# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCP DISCOVER building and OFFER decoding (a real dnsmasq OFFER in fixtures/dhcpprobe)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _dhcpprobe as dhcp

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'dhcpprobe')


def test_real_dnsmasq_offer():
    with open(os.path.join(FIX, 'dnsmasq_offer.hex'), encoding='ascii') as handle:
        offer = dhcp.parse_reply(bytes.fromhex(handle.read().strip()))
    assert offer['message_type'] == 'OFFER' and offer['xid'] == 0x12345678
    assert offer['client_mac'] == 'fa:16:3e:00:00:24' and offer['offered_address'] == '10.0.2.24'
    assert offer['server_id'] == '10.0.2.1' and offer['lease_time'] == 120
    assert offer['router'] == ['10.0.2.1'] and offer['dns_servers'] == ['10.0.2.1']
    assert offer['subnet_mask'] == '255.255.255.0' and offer['domain_name'] == 'novalocal'
    assert offer['hostname'] == 'inst-24' and offer['broadcast'] is True


def test_discover_layout():
    raw = dhcp.build_discover('02:00:00:aa:bb:cc', 0xdeadbeef, hostname='probe')
    assert len(raw) == 300 and raw[0] == 1 and raw[4:8] == b'\xde\xad\xbe\xef'
    assert raw[10:12] == b'\x80\x00'  # broadcast flag: the OFFER comes back to 255.255.255.255
    assert raw[28:34] == bytes.fromhex('0200' + '00aabbcc')
    opts = dhcp.parse_options(raw[240:])
    assert opts[53] == b'\x01' and 50 not in opts and opts[12] == b'probe'


def test_random_mac_is_local_unicast():
    for seed in (b'\xff' * 6, b'\x00' * 6, bytes(range(6))):
        mac = dhcp.random_mac(seed)
        assert dhcp.validate_mac(mac) == mac
        first = int(mac[:2], 16)
        assert first & 0x02 and not first & 0x01


@pytest.mark.parametrize('mac,message', [('00:16:3e:00:00:01', 'not locally administered'),
                                         ('03:00:00:00:00:01', 'multicast'),
                                         ('zz:00:00:00:00:01', 'invalid MAC'),
                                         ('02:00:00:00:00', 'invalid MAC')])
def test_bad_macs(mac, message):
    with pytest.raises(dhcp.DhcpError, match=message):
        dhcp.validate_mac(mac)


def test_openstack_instance_macs_are_local():
    assert dhcp.validate_mac('FA:16:3E:56:0B:6F') == 'fa:16:3e:56:0b:6f'


def test_non_replies_are_ignored_and_truncation_raises():
    assert dhcp.parse_reply(b'\x00' * 10) is None
    assert dhcp.parse_reply(dhcp.build_discover('02:00:00:00:00:01', 1)) is None  # a request, not a reply
    with pytest.raises(dhcp.DhcpError):
        dhcp.parse_options(b'\x35\x05\x01')
