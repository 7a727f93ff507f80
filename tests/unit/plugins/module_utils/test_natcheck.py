# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_natcheck: floating IP associations from the DB against real nova-network nat rules.

Fixtures: tests/unit/fixtures/natcheck/ (real iptables-save output, see its README).
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _natcheck as natcheck
from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import parse_save

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'natcheck')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


ASSOC = [
    {'address': '203.0.113.30', 'fixed_address': '10.0.2.24', 'host': 'compute1'},
    {'address': '203.0.113.31', 'fixed_address': '10.0.2.23', 'host': 'compute1'},
]


@pytest.mark.parametrize('name', ['compute1_nat.iptables-save', 'compute1_nat_counters.iptables-save'])
def test_consistent_host(name):
    rules = natcheck.nat_rules_from_iptables_save(fixture(name))
    result = natcheck.compare_nat(ASSOC, rules, 'compute1')
    assert result['findings'] == []
    assert [o['address'] for o in result['ok']] == ['203.0.113.30', '203.0.113.31']
    # the metadata DNAT (169.254.169.254 tcp/80 -> 10.0.0.42:8775) is a port forward, not a floating IP
    assert '169.254.169.254' not in result['dnat']
    assert result['dnat']['203.0.113.30'] == ['10.0.2.24'] and result['snat']['203.0.113.30'] == ['10.0.2.24']


def test_after_db_repair_the_host_still_has_the_nat():
    rules = natcheck.nat_rules_from_iptables_save(fixture('compute1_nat.iptables-save'))
    result = natcheck.compare_nat(ASSOC[1:], rules, 'compute1')
    assert [(f['code'], f['object']) for f in result['findings']] == [('nat_without_association', '203.0.113.30')]
    assert 'associates it with no fixed IP' in result['findings'][0]['message']
    assert len(result['findings'][0]['rules']) == 4  # 2 DNAT + 2 SNAT lines, the evidence


def test_association_without_nat_and_mismatch():
    rules = natcheck.nat_rules_from_iptables_save(fixture('compute1_nat.iptables-save'))
    extra = {'address': '203.0.113.40', 'fixed_address': '10.0.2.40', 'host': 'compute1'}
    assoc = [dict(ASSOC[0], fixed_address='10.0.2.99'), ASSOC[1], extra]
    codes = sorted((f['code'], f['object']) for f in natcheck.compare_nat(assoc, rules, 'compute1')['findings'])
    assert codes == [('association_without_dnat', '203.0.113.40'), ('association_without_snat', '203.0.113.40'),
                     ('nat_target_mismatch', '203.0.113.30'), ('nat_target_mismatch', '203.0.113.30')]


def test_floating_ip_moved_to_another_host():
    rules = natcheck.nat_rules_from_iptables_save(fixture('compute1_nat.iptables-save'))
    assoc = [dict(ASSOC[0], host='compute2'), ASSOC[1]]
    findings = natcheck.compare_nat(assoc, rules, 'compute1')['findings']
    assert [(f['code'], f['object']) for f in findings] == [('nat_without_association', '203.0.113.30')]
    assert 'with host compute2' in findings[0]['message']


def test_iptables_info_result_gives_the_same_rules():
    text = fixture('compute1_nat_counters.iptables-save')
    from_facts = natcheck.nat_rules_from_iptables_facts(parse_save(text))
    assert from_facts == natcheck.nat_rules_from_iptables_save(text)
    assert natcheck.compare_nat(ASSOC, from_facts, 'compute1')['findings'] == []


def test_minimal_reader_agrees_with_the_parser():
    """The fallback reader (used only without _iptables) gives the same comparison on real output."""
    text = fixture('compute1_nat.iptables-save')
    simple = natcheck._simple_rules(text)
    full = natcheck.nat_rules_from_iptables_save(text)
    for assoc in (ASSOC, ASSOC[1:]):
        a = natcheck.compare_nat(assoc, simple, 'compute1')
        b = natcheck.compare_nat(assoc, full, 'compute1')
        assert [(f['code'], f['object']) for f in a['findings']] == [(f['code'], f['object']) for f in b['findings']]


@pytest.mark.parametrize('text,words', [
    ('', 'is empty'),
    ('hello world\n', 'not iptables-save output'),
    ('*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n', 'no nat table'),
])
def test_bad_input(text, words):
    with pytest.raises(natcheck.NatInputError) as err:
        natcheck.nat_rules_from_iptables_save(text)
    assert words in str(err.value)


def test_bad_facts():
    with pytest.raises(natcheck.NatInputError):
        natcheck.nat_rules_from_iptables_facts({'nope': 1})
    with pytest.raises(natcheck.NatInputError):
        natcheck.nat_rules_from_iptables_facts({'tables': {'filter': {'chains': {}}}})


def test_associations_from_tables():
    data = {'fixed_ips': [{'id': 1, 'address': '10.0.2.24'}],
            'floating_ips': [{'id': 1, 'address': '203.0.113.30', 'fixed_ip_id': 1, 'host': 'c1', 'deleted': 0},
                             {'id': 2, 'address': '203.0.113.31', 'fixed_ip_id': None, 'host': None, 'deleted': 0},
                             {'id': 3, 'address': '203.0.113.32', 'fixed_ip_id': 1, 'host': 'c1', 'deleted': 3}]}
    assert natcheck.associations_from_tables(data) == [{'address': '203.0.113.30', 'fixed_address': '10.0.2.24', 'host': 'c1',
                                                        'fixed_ip_id': 1}]
