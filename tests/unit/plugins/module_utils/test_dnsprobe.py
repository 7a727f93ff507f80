# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS wire format on real dnsmasq answers (fixtures/dnsprobe, see its README) and classification."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _dnsprobe as dns

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'dnsprobe')


def load(name):
    with open(os.path.join(FIX, name), encoding='ascii') as handle:
        return bytes.fromhex(handle.read().strip())


def test_a_answer():
    msg = dns.parse_response(load('dnsmasq_a_ok.hex'))
    assert msg['id'] == 4660 and msg['rcode'] == 'NOERROR' and msg['response'] and msg['authoritative']
    assert msg['question'] == {'name': 'openstack.test.', 'type': 'A'}
    assert msg['answers'] == [{'name': 'openstack.test.', 'type': 'A', 'ttl': 0, 'data': '203.0.113.80'}]


def test_ptr_answer_with_compressed_name():
    msg = dns.parse_response(load('dnsmasq_ptr_ok.hex'))
    assert msg['answers'][0]['name'] == '24.2.0.10.in-addr.arpa.'
    assert msg['answers'][0]['data'] == 'inst-24.novalocal.'


@pytest.mark.parametrize('name,rcode,status', [('dnsmasq_a_nxdomain.hex', 'NXDOMAIN', 'nxdomain'),
                                               ('dnsmasq_a_refused.hex', 'REFUSED', 'refused'),
                                               ('dnsmasq_aaaa_nodata_refused.hex', 'REFUSED', 'refused')])
def test_error_rcodes(name, rcode, status):
    msg = dns.parse_response(load(name))
    assert msg['rcode'] == rcode and msg['answers'] == []
    assert dns.classify(msg['rcode'], msg['answers'], 1.0, 500) == status


def test_classify():
    answers = [{'name': 'a.', 'type': 'A', 'ttl': 1, 'data': '203.0.113.1'}]
    assert dns.classify('NOERROR', answers, 10.0, 500) == 'ok'
    assert dns.classify('NOERROR', answers, 501.0, 500) == 'slow'
    assert dns.classify('NOERROR', [], 1.0, 500) == 'nodata'
    assert dns.classify('SERVFAIL', [], 1.0, 500) == 'servfail'
    assert dns.classify('NOTIMP', [], 1.0, 500) == 'error'


def test_query_roundtrip_and_reverse_names():
    raw = dns.build_query('openstack.test.', 'A', 4660)
    assert raw[:2] == b'\x12\x34' and raw.endswith(b'\x00\x01\x00\x01')
    assert dns.reverse_name('10.0.2.24') == '24.2.0.10.in-addr.arpa.'
    assert dns.reverse_name('2001:db8::1').endswith('.8.b.d.0.1.0.0.2.ip6.arpa.')
    with pytest.raises(dns.DnsError):
        dns.reverse_name('not-an-ip')
    with pytest.raises(dns.DnsError):
        dns.build_query('a' * 70 + '.test.', 'A', 1)


def test_garbage_and_truncation_raise_dns_error():
    with pytest.raises(dns.DnsError):
        dns.parse_response(b'\x00\x01')
    data = load('dnsmasq_a_ok.hex')
    with pytest.raises(dns.DnsError):
        dns.parse_response(data[:-3])
    loop = b'\x00\x01\x81\x80\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c'
    with pytest.raises(dns.DnsError):
        dns.parse_response(loop)


def test_plan():
    plan = dns.plan_queries(['openstack.test'], ['10.0.2.24'], ['A', 'AAAA'])
    assert plan == [('openstack.test', 'openstack.test.', 'A'), ('openstack.test', 'openstack.test.', 'AAAA'),
                    ('10.0.2.24', '24.2.0.10.in-addr.arpa.', 'PTR')]


def test_real_query_to_closed_loopback_port_is_unreachable_or_timeout():
    # 127.0.0.1 port 9 (discard) has no listener here: the kernel answers ICMP port unreachable.
    res = dns.run_queries('127.0.0.1', 9, [('x', 'x.test.', 'A')], 1.0, 500)
    assert res[0]['status'] == 'unreachable' and res[0]['answers'] == []
