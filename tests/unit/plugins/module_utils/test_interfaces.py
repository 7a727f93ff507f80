# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_interfaces: the ip text parser on the chapter's sample and on real output, problems, netlink."""

from __future__ import annotations

import json
import os
import struct
import subprocess

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _interfaces as I
from ansible_collections.cloudops.netdiag.plugins.module_utils import _interfaces_text as T
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'interfaces')


def fixture(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def by_name(interfaces):
    return {i['name']: i for i in interfaces}


def codes(itf):
    return sorted(p['code'] for p in itf['problems'])


def test_chapter_sample_ip_a_grep_state():
    itfs = I.evaluate_problems(T.parse_ip_addr(fixture('chapter_ip_a_grep_state.txt')))
    assert [i['name'] for i in itfs] == ['lo', 'eth0', 'eth1', 'virbr0', 'br100']
    assert [i['index'] for i in itfs] == [1, 2, 3, 4, 6]
    d = by_name(itfs)
    assert d['lo']['kind'] == 'loopback' and d['lo']['mtu'] == 16436 and d['lo']['operstate'] == 'UNKNOWN'
    assert d['eth1']['master'] == 'br100' and d['eth1']['qdisc'] == 'pfifo_fast'
    assert d['eth0']['master'] is None and d['eth0']['operstate'] == 'UP' and d['eth0']['carrier'] is True
    # virbr0: NO-CARRIER, state DOWN, and yet never a problem (the chapter: ignore it).
    assert d['virbr0']['carrier'] is False and d['virbr0']['operstate'] == 'DOWN'
    assert d['virbr0']['ignorable'] is True and d['virbr0']['problems'] == []
    assert 'NO-CARRIER' in d['virbr0']['flags']
    # The healthy chapter host has no problem at all.
    assert [i['name'] for i in itfs if i['problems']] == []
    assert I.summarize(itfs) == {'total': 5, 'up': 5, 'with_problems': 0, 'ignorable': 1, 'problem_codes': {}}


def test_chapter_sample_with_virbr0_not_ignored_would_be_no_carrier():
    # The same line under another name is a real problem: the exemption is by name only.
    text = fixture('chapter_ip_a_grep_state.txt').replace('virbr0', 'br200')
    d = by_name(I.evaluate_problems(T.parse_ip_addr(text)))
    assert codes(d['br200']) == ['no_carrier']


def test_real_ip_a():
    itfs = I.evaluate_problems(T.parse_ip_addr(fixture('ip_a.txt')))
    d = by_name(itfs)
    assert len(itfs) == 10
    assert codes(d['vnet1']) == ['enslaved_but_down', 'mtu_mismatch_with_master']
    assert codes(d['eth0j']) == ['lower_layer_down']
    assert 'vnet1' in d['eth0j']['problems'][0]['message']
    assert codes(d['tap0']) == ['admin_down']
    assert codes(d['vnet0']) == ['mtu_mismatch_with_master']
    assert codes(d['eth1']) == [] and codes(d['br100']) == [] and codes(d['lo']) == []
    assert d['virbr0']['ignorable'] and d['virbr0-nic']['ignorable']
    assert d['virbr0']['problems'] == [] and d['virbr0-nic']['problems'] == []
    # veth peers: same namespace by name, other namespace by index + namespace name.
    assert d['vnet0']['link'] == 'eth0i' and d['vnet0']['link_index'] == 3
    assert d['eth1']['link'] is None and d['eth1']['link_index'] == 2 and d['eth1']['link_netns'] == 'tfnx-cap2'
    br = d['br100']
    assert [(a['family'], a['address'], a['prefixlen'], a['label']) for a in br['addresses']] == [
        ('inet', '10.0.2.1', 24, 'br100'), ('inet', '203.0.113.34', 24, 'br100:pub'),
        ('inet6', '2001:db8::1', 64, None), ('inet6', 'fe80::cc00:b9ff:fefb:f942', 64, None)]
    assert br['addresses'][0]['broadcast'] == '10.0.2.255'
    assert br['addresses'][2]['flags'] == ['nodad'] and br['addresses'][3]['scope'] == 'link'
    assert br['mac'] == 'ce:00:b9:fb:f9:42' and d['lo']['link_type'] == 'loopback'
    # Without -d the kind of a veth is not in the text.
    assert d['vnet0']['kind'] == 'unknown'


def test_real_ip_d_addr_kinds_and_bridge_ports():
    d = by_name(I.evaluate_problems(T.parse_ip_addr(fixture('ip_d_addr.txt'))))
    assert {n: i['kind'] for n, i in d.items()} == {
        'lo': 'loopback', 'br100': 'bridge', 'eth0i': 'veth', 'vnet0': 'veth', 'eth0j': 'veth', 'vnet1': 'veth',
        'eth1': 'veth', 'tap0': 'tap', 'virbr0': 'bridge', 'virbr0-nic': 'tap'}
    assert d['vnet0']['bridge_port']['state'] == 'forwarding'
    assert d['vnet1']['bridge_port']['state'] == 'disabled'
    assert d['vnet0']['slave_kind'] == 'bridge'
    assert d['br100']['bridge']['stp_state'] == 0
    assert d['vnet0']['peer_index'] == 3 and d['eth0i']['peer_index'] == 4


def test_text_parser_agrees_with_ip_json_of_the_same_namespace():
    """ip -d addr (text) and ip -j -d addr (JSON) were captured from the same namespace."""
    text = by_name(T.parse_ip_addr(fixture('ip_d_addr.txt')))
    js = json.loads(fixture('ip_j_d_addr.json'))
    assert sorted(text) == sorted(e['ifname'] for e in js)
    for e in js:
        t = text[e['ifname']]
        assert t['index'] == e['ifindex']
        assert t['mtu'] == e['mtu']
        assert t['operstate'] == e['operstate']
        assert t['master'] == e.get('master')
        assert t['mac'] == e.get('address')
        kind = (e.get('linkinfo') or {}).get('info_kind')
        if kind == 'tun':
            kind = (e['linkinfo']['info_data']['type'])
        assert t['kind'] == (kind or ('loopback' if e['link_type'] == 'loopback' else 'device'))
        assert [(a['address'], a['prefixlen']) for a in t['addresses']] == \
            [(a['local'], a['prefixlen']) for a in e.get('addr_info', [])]


@pytest.mark.parametrize('garbage', ['', 'hello world\n', 'Device "eth9" does not exist.\n', '\x00\xff' * 50])
def test_garbage_text_raises(garbage):
    with pytest.raises(I.InterfaceError):
        T.parse_ip_addr(garbage)


def test_problems_master_down_and_port_blocked():
    itfs = [
        {'name': 'br1', 'netns': None, 'up': False, 'operstate': 'DOWN', 'carrier': False, 'mtu': 1500,
         'kind': 'bridge', 'master': None},
        {'name': 'p1', 'netns': None, 'up': True, 'operstate': 'UP', 'carrier': True, 'mtu': 1500,
         'kind': 'veth', 'master': 'br1', 'bridge_port': {'state': 'blocking'}},
    ]
    d = by_name(I.evaluate_problems(itfs))
    assert codes(d['br1']) == ['admin_down']
    assert codes(d['p1']) == ['bridge_port_blocked', 'master_down']


def test_name_matches():
    assert I.name_matches('vnet12', ['vnet*'])
    assert I.name_matches('br100', ['eth0', 'br100'])
    assert not I.name_matches('br100', ['br10'])
    assert I.name_matches('br[1]00', ['br[1]00'])  # exact name wins over pattern semantics


def test_netlink_dump_of_own_namespace_agrees_with_ip_json():
    """Read-only dump of the namespace the tests run in, cross-checked with ip -j -d addr show."""
    ours = by_name(I.dump_interfaces())
    js = json.loads(subprocess.run(['ip', '-j', '-d', 'addr', 'show'], check=True, capture_output=True).stdout)
    theirs = {e['ifname']: e for e in js}
    common = set(ours) & set(theirs)      # a link may come or go between the two dumps
    assert common and len(common) >= len(theirs) - 2
    for name in common:
        o, e = ours[name], theirs[name]
        assert o['index'] == e['ifindex'] and o['mtu'] == e['mtu']
        assert o['master'] == e.get('master')
        assert o['flags'] == [f for f in e['flags'] if f != 'M-DOWN']
        assert o['mac'] == (e.get('address') if e.get('link_type') != 'none' else None) or e.get('address') == ''
        assert sorted(a['address'] for a in o['addresses']) == sorted(a['local'] for a in e.get('addr_info', []))
        assert set(o['counters']) == set(I.COUNTER_KEYS)


def test_namespaces_for_missing_namespace_names_it(tmp_path):
    with pytest.raises(NetnsError, match='tnope'):
        I.namespaces_for('tnope', run_dir=str(tmp_path))
    (tmp_path / 'a').write_text('')
    (tmp_path / 'b').write_text('')
    assert I.namespaces_for(['all'], run_dir=str(tmp_path)) == [None, 'a', 'b']
    assert I.namespaces_for(['b', 'a', 'b'], run_dir=str(tmp_path)) == ['b', 'a']
    assert I.namespaces_for(None) == [None]


def test_ip_json_and_ip_text_of_the_same_namespace_agree():
    from_json = by_name(I.evaluate_problems(T.parse_ip_text(fixture('ip_j_d_addr.json'))))
    from_text = by_name(I.evaluate_problems(T.parse_ip_text(fixture('ip_d_addr.txt'))))
    assert sorted(from_json) == sorted(from_text)
    for name, t in from_text.items():
        j = from_json[name]
        for key in ('index', 'mtu', 'operstate', 'master', 'kind', 'mac', 'up', 'carrier', 'peer_index'):
            assert j[key] == t[key], (name, key)
        assert [(a['address'], a['prefixlen'], a['label']) for a in j['addresses']] == \
            [(a['address'], a['prefixlen'], a['label']) for a in t['addresses']]
        assert codes(j) == codes(t)
        assert j.get('bridge_port', {}).get('state') == t.get('bridge_port', {}).get('state')


@pytest.mark.parametrize('bad', ['[1, 2]', '[{"name": "x"}]', '{"ifname": "x"}', '[{"ifname": '])
def test_ip_json_garbage(bad):
    with pytest.raises(I.InterfaceError, match='JSON output of "ip -j addr show"'):
        T.parse_ip_text(bad) if bad.startswith('[') else T.parse_ip_json(bad)


def test_all_skips_a_namespace_deleted_meanwhile(tmp_path, monkeypatch):
    # A name listed under run_dir whose file vanishes before it is entered: skipped with "all",
    # an error when asked for by name.
    (tmp_path / 'gone').write_text('')
    real = I.namespaces_for

    def listed_then_deleted(netns, run_dir):
        names = real(netns, run_dir)
        (tmp_path / 'gone').unlink()
        return names

    monkeypatch.setattr(I, 'namespaces_for', listed_then_deleted)
    itfs = I.dump_interfaces(['all'], run_dir=str(tmp_path))
    assert itfs and {i['netns'] for i in itfs} == {None}
    (tmp_path / 'gone').write_text('')
    with pytest.raises(NetnsError, match='gone does not exist'):
        I.dump_interfaces(['gone'], run_dir=str(tmp_path))


def _nla(atype, payload):
    """One netlink attribute, padded to 4 bytes."""
    raw = struct.pack('=HH', 4 + len(payload), atype) + payload
    return raw + b'\0' * (-len(raw) % 4)


def _newlink(index, attrs):
    """An RTM_NEWLINK body (ifinfomsg + attributes) as the kernel lays it out."""
    return struct.pack('=BxHiII', 0, 1, index, 0x1043, 0) + b''.join(_nla(t, p) for t, p in attrs)


def test_layout_plan_is_reused_only_for_the_same_layout():
    # Three link messages of the same length: a and c have the same attribute layout (different
    # values), b the same attributes in another order.  Each decodes to its own values: the plan
    # learnt from a is used for c, and b (same length, other headers) is walked, not misread.
    name = I.IFLA_IFNAME
    mtu = I.IFLA_MTU
    master = I.IFLA_MASTER
    a = _newlink(7, [(name, b'ab\0'), (mtu, struct.pack('=I', 1500)), (master, struct.pack('=I', 3))])
    b = _newlink(8, [(mtu, struct.pack('=I', 9000)), (name, b'xy\0'), (master, struct.pack('=I', 4))])
    c = _newlink(9, [(name, b'cd\0'), (mtu, struct.pack('=I', 1400)), (master, struct.pack('=I', 5))])
    d = _newlink(10, [(name, b'ef\0'), (mtu, struct.pack('=I', 1300))] + [(master, b'\0\0')])   # short u32: not read
    assert len(a) == len(b) == len(c)
    got = []
    for raw in (a, b, c, b, a, d):
        buf = bytearray(b'\xff' * 16 + raw + b'\xff' * 8)     # the body sits inside a bigger buffer
        link = I.decode_link(buf, 16, 16 + len(raw))
        got.append((link['index'], link['name'], link['mtu'], link['master_index'], link['counters'], link['mac']))
    assert got == [(7, 'ab', 1500, 3, None, None), (8, 'xy', 9000, 4, None, None), (9, 'cd', 1400, 5, None, None),
                   (8, 'xy', 9000, 4, None, None), (7, 'ab', 1500, 3, None, None), (10, 'ef', 1300, None, None, None)]


def test_decoding_twice_gives_the_same_result():
    # The first dump learns the layouts, the second one decodes with them: same interfaces.
    first = by_name(I.dump_interfaces())
    second = by_name(I.dump_interfaces())
    for name in set(first) & set(second):
        one, two = dict(first[name]), dict(second[name])
        one.pop('counters')
        two.pop('counters')
        assert one == two
