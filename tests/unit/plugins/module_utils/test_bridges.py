# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_bridges: brctl show (real capture) and the netlink/ip view of the same namespace agree."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _bridges as B
from ansible_collections.cloudops.netdiag.plugins.module_utils import _interfaces_text as T

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def text(rel):
    with open(os.path.join(FIX, rel), encoding='utf-8') as f:
        return f.read()


def test_brctl_show_real_capture():
    brs = B.parse_brctl_show(text('bridges/brctl_show.txt'))
    assert [b['name'] for b in brs] == ['br100', 'virbr0']
    assert [p['name'] for p in brs[0]['ports']] == ['eth1', 'vnet0', 'vnet1']
    assert brs[0]['stp_enabled'] is False and brs[0]['bridge_id'].startswith('8000.')
    assert brs[1]['ignorable'] is True and brs[1]['problems'] == []
    assert brs[0]['problems'] == []


def test_brctl_show_bridge_without_ports_and_stp():
    # Real capture (bridges/capture.sh): an empty interfaces column, STP on.
    br, other = B.parse_brctl_show(text('bridges/brctl_show_stp_noports.txt'))
    assert br['name'] == 'br200' and br['ports'] == [] and br['stp_enabled'] is True
    assert [p['code'] for p in br['problems']] == ['no_ports']
    assert [p['name'] for p in other['ports']] == ['p1'] and other['stp_enabled'] is False


@pytest.mark.parametrize('bad', ['', 'bridge\n', 'hello world\n', 'bridge name\tbridge id\nbr0 8000.x maybe\n',
                                 'bridge name\tbridge id\tSTP enabled\tinterfaces\n\t\tvnet0\n'])
def test_brctl_garbage(bad):
    with pytest.raises(B.BridgeError):
        B.parse_brctl_show(bad)


def test_bridges_from_ip_d_text_agree_with_brctl_of_same_namespace():
    from_ip = B.bridges_from_interfaces(T.parse_ip_addr(text('interfaces/ip_d_addr.txt')))
    from_brctl = B.parse_brctl_show(text('bridges/brctl_show.txt'))
    assert [(b['name'], [p['name'] for p in b['ports']]) for b in from_ip] == \
        [(b['name'], [p['name'] for p in b['ports']]) for b in from_brctl]
    br100 = from_ip[0]
    states = {p['name']: p['state'] for p in br100['ports']}
    assert states == {'eth1': 'forwarding', 'vnet0': 'forwarding', 'vnet1': 'disabled'}
    assert [p['code'] for p in br100['problems']] == ['port_down']
    assert br100['stp_enabled'] is False
    assert from_ip[1]['ignorable'] is True and from_ip[1]['problems'] == []


def test_bridge_of():
    brs = B.bridges_from_interfaces(T.parse_ip_addr(text('interfaces/ip_d_addr.txt')))
    assert B.bridge_of(brs, 'vnet1') == [{'interface': 'vnet1', 'bridge': 'br100', 'netns': None,
                                         'state': 'disabled', 'type': 'linux'}]
    assert B.bridge_of(brs, 'eth0i') == []
    ovs = [{'name': 'br-int', 'type': 'ovs', 'netns': None, 'ports': [{'name': 'tap1', 'state': None}]}]
    assert B.bridge_of(brs + ovs, 'tap1')[0]['type'] == 'ovs'


def test_no_forwarding_port():
    br = {'name': 'br1', 'up': True, 'ports': [{'name': 'a', 'up': True, 'state': 'blocking'}]}
    assert [p['code'] for p in B.evaluate_bridge(br)] == ['no_forwarding_port']


def test_parse_ovs_list():
    assert B.parse_ovs_list('br-int\nbr-ex\n\n') == ['br-int', 'br-ex']
