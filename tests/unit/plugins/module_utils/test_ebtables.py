# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ebtables-save parser on real dumps (tests/unit/fixtures/ebtables/capture.sh made them)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _ebtables

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ebtables')


def text(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


@pytest.mark.parametrize('name, backend', [('nova_nft_save_c_after.txt', 'nft'), ('nova_legacy_save_c.txt', 'legacy')])
def test_both_formats_give_the_same_rules_and_counters(name, backend):
    p = _ebtables.parse_save(text(name))
    assert p['backend'] == backend and p['rule_count'] == 6
    inp = p['tables']['filter']['chains']['INPUT']
    assert inp['policy'] == 'ACCEPT'
    stray = inp['rules'][0]
    assert stray['rule'] == '-A INPUT -p IPv4 -i vnet0 --ip-proto udp --ip-dport 67 -j DROP'
    assert (stray['packets'], stray['bytes'], stray['in_interface'], stray['target']) == (2, 656, 'vnet0', 'DROP')
    assert stray['dhcp'] is True and stray['nova_isolation'] is False
    # nova-network's isolate_dhcp_address rules: all four recognised, none taken for a stray DHCP drop
    s = _ebtables.summarize(p)
    assert sorted((x['chain'], x['index']) for x in s['nova_dhcp_isolation']) == [
        ('FORWARD', 1), ('FORWARD', 2), ('INPUT', 2), ('OUTPUT', 1)]
    assert [x['rule'] for x in s['dhcp_drops']] == [stray['rule']]
    assert [x['rule'] for x in s['drops_with_hits']] == [stray['rule']]
    nat = p['tables']['nat']['chains']['PREROUTING']['rules'][0]
    assert nat['source'] == 'fa:16:3e:2c:7a:01' and nat['target'] == 'ACCEPT' and nat['dhcp'] is False


def test_without_counters_and_compare():
    plain = _ebtables.parse_save(text('nova_nft_save.txt'))
    assert all(r['packets'] is None for t, c, r in _ebtables.walk(plain))
    before = _ebtables.parse_save(text('nova_nft_save_c.txt'))
    after = _ebtables.parse_save(text('nova_nft_save_c_after.txt'))
    moved = _ebtables.compare_counters(before, after)
    # the two DHCPDISCOVERs of the instance: the stray DROP first, then the nat ACCEPT that saw every frame
    assert moved[0]['rule'].startswith('-A INPUT -p IPv4 -i vnet0') and moved[0]['packets'] == 2 and moved[0]['drop']
    assert [m['drop'] for m in moved] == [True, False]
    assert _ebtables.compare_counters(after, after) == []


def test_negation_and_port_ranges():
    r = _ebtables.decode_rule('-A FORWARD -p IPv4 ! -i vlan100 --ip-proto 17 --ip-sport 60:70 -j DROP')
    assert r['negated'] == ['in_interface'] and r['dhcp'] is True and r['nova_isolation'] is False
    r = _ebtables.decode_rule('-A FORWARD -p IPv4 --ip-proto udp --ip-dport 53 -j DROP')
    assert r['dhcp'] is False


@pytest.mark.parametrize('bad, msg', [
    ('-A INPUT -j DROP\n', r'before any \*table line'),
    ('*filter\n-X INPUT\n', 'not a rule'),
])
def test_garbage_is_named(bad, msg):
    with pytest.raises(_ebtables.EbtablesError, match=msg):
        _ebtables.parse_save(bad)
