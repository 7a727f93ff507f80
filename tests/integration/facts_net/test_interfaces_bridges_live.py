# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""interface_info and bridge_info against real namespaces, veths and bridges made here."""

from __future__ import annotations

import json

import pytest

from facts_net_helpers import run_module, sh  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def itfs(ns_names, **extra):
    rc, res = run_module('interface_info', dict(netns=ns_names, **extra))
    assert rc == 0 and not res.get('failed'), res
    return res


def by_key(res):
    return {(i['netns'], i['name']): i for i in res['interfaces']}


def codes(itf):
    return sorted(p['code'] for p in itf['problems'])


def test_interfaces_of_a_compute_namespace(compute):
    c, inst = compute['cn'], compute['inst']
    res = itfs([c, inst])
    d = by_key(res)
    assert {i['netns'] for i in res['interfaces']} == {c, inst}
    assert d[(c, 'br100')]['kind'] == 'bridge' and d[(c, 'vnet0')]['kind'] == 'veth'
    assert d[(c, 'virbr0-nic')]['kind'] == 'tap' and d[(c, 'lo')]['kind'] == 'loopback'
    assert d[(c, 'vnet0')]['master'] == 'br100' and d[(c, 'vnet0')]['bridge_port']['state'] in (
        'forwarding', 'learning', 'listening')
    # veth peers across namespaces: the peer index is the other end's ifindex, the namespace resolved.
    assert d[(c, 'vnet0')]['peer_index'] == d[(inst, 'eth0')]['index']
    assert d[(c, 'vnet0')]['link_netns'] == inst
    assert d[(inst, 'eth0')]['peer_index'] == d[(c, 'vnet0')]['index'] and d[(inst, 'eth0')]['link_netns'] == c
    assert [(a['address'], a['prefixlen']) for a in d[(inst, 'eth0')]['addresses'] if a['family'] == 'inet'] == \
        [('10.0.2.24', 24)]
    # The down port and what it does to its peer; virbr0 is never a problem.
    assert codes(d[(c, 'vnet2')]) == ['enslaved_but_down']
    assert codes(d[(c, 'vnet0')]) == [] and codes(d[(c, 'br100')]) == []
    assert d[(c, 'virbr0')]['ignorable'] and d[(c, 'virbr0')]['problems'] == []
    assert d[(c, 'virbr0-nic')]['problems'] == []
    assert res['summary']['problem_codes'] == {'enslaved_but_down': 1}


def test_inst3_sees_its_peer_down(compute):
    # Alone, the guest end only knows it has no carrier (the kernel says DOWN across namespaces) ...
    res = itfs([compute['inst3']], name=['eth0'])
    (eth0,) = res['interfaces']
    assert eth0['up'] is True and eth0['carrier'] is False and codes(eth0) == ['no_carrier']
    # ... read together with the compute namespace, the down peer is named.
    d = by_key(itfs([compute['cn'], compute['inst3']]))
    eth0 = d[(compute['inst3'], 'eth0')]
    assert codes(eth0) == ['lower_layer_down']
    assert 'vnet2 (namespace %s)' % compute['cn'] in eth0['problems'][0]['message']


def test_port_down_then_up_and_master_down(compute):
    c = compute['cn']
    sh('ip', '-n', c, 'link', 'set', 'vnet0', 'down')
    d = by_key(itfs([c, compute['inst']]))
    assert codes(d[(c, 'vnet0')]) == ['enslaved_but_down']
    assert codes(d[(compute['inst'], 'eth0')]) == ['lower_layer_down']
    sh('ip', '-n', c, 'link', 'set', 'vnet0', 'up')
    d = by_key(itfs([c, compute['inst']]))
    assert codes(d[(c, 'vnet0')]) == [] and codes(d[(compute['inst'], 'eth0')]) == []
    sh('ip', '-n', c, 'link', 'set', 'br100', 'down')
    d = by_key(itfs([c]))
    assert codes(d[(c, 'br100')]) == ['admin_down']
    assert 'master_down' in codes(d[(c, 'vnet0')]) and 'master_down' in codes(d[(c, 'eth1')])


def test_mtu_mismatch(compute):
    c = compute['cn']
    sh('ip', '-n', c, 'link', 'set', 'br100', 'mtu', '1400')     # the bridge now smaller than vnet0
    sh('ip', '-n', c, 'link', 'set', 'vnet0', 'mtu', '1500')
    d = by_key(itfs([c], name=['vnet0']))
    assert codes(d[(c, 'vnet0')]) == ['mtu_mismatch_with_master']


def test_name_patterns_and_all(compute):
    c = compute['cn']
    res = itfs([c], name=['vnet*', 'br100'])
    assert sorted(i['name'] for i in res['interfaces']) == ['br100', 'vnet0', 'vnet1', 'vnet2']
    res = itfs(['all'], name=['vnet?'])
    ours = sorted(i['name'] for i in res['interfaces'] if i['netns'] == c)
    assert ours == ['vnet0', 'vnet1', 'vnet2']
    assert {compute['inst'], compute['ext']} <= set(sh('ip', 'netns', 'list').split())


def test_netlink_agrees_with_ip_json(compute):
    c = compute['cn']
    res = itfs([c])
    ip = {e['ifname']: e for e in json.loads(sh('ip', '-n', c, '-j', '-d', 'addr', 'show'))}
    assert sorted(ip) == sorted(i['name'] for i in res['interfaces'])
    for i in res['interfaces']:
        e = ip[i['name']]
        assert (i['index'], i['mtu'], i['operstate'], i.get('master')) == \
            (e['ifindex'], e['mtu'], e['operstate'], e.get('master'))
        assert i['flags'] == [f for f in e['flags'] if f != 'M-DOWN']
        assert sorted(a['address'] for a in i['addresses']) == sorted(a['local'] for a in e.get('addr_info', []))
        stats = json.loads(sh('ip', '-n', c, '-j', '-s', 'link', 'show', 'dev', i['name']))[0]['stats64']
        assert i['counters']['rx_packets'] <= stats['rx']['packets']


def test_counters_move_with_traffic(compute):
    c, inst = compute['cn'], compute['inst']
    before = by_key(itfs([c], name=['vnet0']))[(c, 'vnet0')]['counters']
    sh('ping', '-c', '3', '-i', '0.2', '-W', '1', '10.0.2.1', ns=inst)
    after = by_key(itfs([c], name=['vnet0']))[(c, 'vnet0')]['counters']
    assert after['rx_packets'] - before['rx_packets'] >= 3
    assert after['tx_packets'] - before['tx_packets'] >= 3


def test_missing_namespace_one_clear_message(compute):
    rc, res = run_module('interface_info', {'netns': [compute['cn'], 'tfnx-gone']})
    assert rc == 1 and res['failed'] and res['msg'] == 'cannot read interfaces: network namespace tfnx-gone does not exist'


def test_bridge_info_live(compute):
    c = compute['cn']
    rc, res = run_module('bridge_info', {'netns': [c], 'interface': 'vnet2'})
    assert rc == 0, res
    brs = {b['name']: b for b in res['bridges']}
    assert sorted(brs) == ['br100', 'virbr0']
    br = brs['br100']
    assert [p['name'] for p in br['ports']] == ['eth1', 'vnet0', 'vnet1', 'vnet2']
    states = {p['name']: p['state'] for p in br['ports']}
    assert states['vnet2'] == 'disabled' and states['vnet0'] != 'disabled'
    assert br['stp_enabled'] is False and br['netns'] == c
    assert [p['code'] for p in br['problems']] == ['port_down']
    assert brs['virbr0']['ignorable'] and brs['virbr0']['problems'] == []
    assert res['member_of'] == [{'interface': 'vnet2', 'bridge': 'br100', 'netns': c, 'state': 'disabled',
                                 'type': 'linux'}]
    # The same namespace through brctl (the tool the chapter uses) gives the same bridges and ports.
    text = sh('brctl', 'show', ns=c)
    rc, offline = run_module('bridge_info', {'src': text})
    assert [(b['name'], b['bridge_id'], [p['name'] for p in b['ports']]) for b in offline['bridges']] == \
        [(b['name'], b['bridge_id'], [p['name'] for p in b['ports']]) for b in res['bridges']]


def test_bridge_stp_and_no_ports(netns):
    n = netns('stp')
    sh('ip', '-n', n, 'link', 'add', 'br9', 'type', 'bridge', 'stp_state', '1')
    sh('ip', '-n', n, 'link', 'set', 'br9', 'up')
    rc, res = run_module('bridge_info', {'netns': [n]})
    (br,) = res['bridges']
    assert br['stp_enabled'] is True and [p['code'] for p in br['problems']] == ['no_ports']


def test_bridge_info_missing_namespace(compute):
    rc, res = run_module('bridge_info', {'netns': ['tfnx-gone']})
    assert rc == 1 and 'network namespace tfnx-gone does not exist' in res['msg']


def test_bridge_info_agrees_with_sysfs(compute):
    """netlink (the module) and sysfs (what brctl reads) of the same namespace tell the same story."""
    c = compute['cn']
    rc, res = run_module('bridge_info', {'netns': [c]})
    assert rc == 0
    names = ['disabled', 'listening', 'learning', 'forwarding', 'blocking']
    for br in res['bridges']:
        base = '/sys/class/net/%s' % br['name']
        ports = sorted(sh('ls', base + '/brif', ns=c).split())
        assert [p['name'] for p in br['ports']] == ports
        assert br['stp_enabled'] == (sh('cat', base + '/bridge/stp_state', ns=c).strip() != '0')
        for p in br['ports']:
            state = int(sh('cat', '/sys/class/net/%s/brport/state' % p['name'], ns=c).strip())
            assert p['state'] == names[state], p['name']


def test_vxlan_and_tap_kinds(netns):
    # (vlan, bond and dummy links cannot be created on this machine's kernel: no such modules.)
    n = netns('kinds')
    sh('ip', '-n', n, 'link', 'add', 'vx42', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '127.0.0.1')
    sh('ip', '-n', n, 'tuntap', 'add', 'tun7', 'mode', 'tun')
    d = {i['name']: i for i in itfs([n])['interfaces']}
    assert d['vx42']['kind'] == 'vxlan' and d['vx42']['vxlan_id'] == 42
    assert d['tun7']['kind'] == 'tun' and d['tun7']['mac'] is None
    assert [p['code'] for p in d['vx42']['problems']] == ['admin_down']
