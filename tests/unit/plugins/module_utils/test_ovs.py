# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OVSDB value decoding and ovs-ofctl flow parsing (on real dumps of the OVN lab's br-int and br-phy).
The modules themselves are tested against the lab's real daemons (tests/integration/facts_net/test_ovs_ovn_live.py)."""

from __future__ import annotations

import os
import socket

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _ovn, _ovs, _ovsdb

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'ovs')


def _read(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as f:
        return f.read()


def test_decode_wire_values():
    assert _ovsdb.decode(['uuid', 'd55304c8-327d-4e4f-8983-0ef130f369bb']) == 'd55304c8-327d-4e4f-8983-0ef130f369bb'
    assert _ovsdb.decode(['set', []]) == []
    assert _ovsdb.decode(['set', [['uuid', 'a'], ['uuid', 'b']]]) == ['a', 'b']
    assert _ovsdb.decode(['map', [['iface-id', 'p1'], ['attached-mac', 'fa:16:3e:00:00:01']]]) == {
        'iface-id': 'p1', 'attached-mac': 'fa:16:3e:00:00:01'}
    assert _ovsdb.decode(3) == 3 and _ovsdb.decode('up') == 'up'


@pytest.mark.parametrize('ctype, wire, shaped', [
    ({'key': 'integer', 'min': 0, 'max': 1}, [], None),            # an optional column left empty
    ({'key': 'integer', 'min': 0, 'max': 1}, 3, 3),
    ({'key': 'string', 'min': 0, 'max': 'unlimited'}, 'fa:16:3e:00:00:01 10.1.0.11', ['fa:16:3e:00:00:01 10.1.0.11']),
    ({'key': 'string', 'min': 0, 'max': 'unlimited'}, ['a', 'b'], ['a', 'b']),
    ({'key': 'string', 'value': 'string', 'min': 0, 'max': 'unlimited'}, [], {}),
    ('string', 'br-int', 'br-int'),
])
def test_values_shaped_by_the_schema(ctype, wire, shaped):
    assert _ovsdb._shape(wire, _ovsdb._kind(ctype)) == shaped


@pytest.mark.parametrize('remote, family', [
    ('unix:/run/openvswitch/db.sock', socket.AF_UNIX), ('/run/ovn/ovnnb_db.sock', socket.AF_UNIX),
    ('tcp:192.0.2.10:6641', socket.AF_INET), ('tcp:[2001:db8::1]:6642', socket.AF_INET6)])
def test_remotes(remote, family):
    assert _ovsdb.parse_remote(remote)[0] == family


@pytest.mark.parametrize('remote', ['', 'ssl:192.0.2.10:6641', 'tcp:192.0.2.10', 'punix:/x'])
def test_bad_remote_is_named(remote):
    with pytest.raises(_ovsdb.OvsdbError):
        _ovsdb.parse_remote(remote)


def test_flows_of_br_int_openflow15():
    flows = _ovs.parse_flows(_read('br-int.dump-flows.of15.txt'))
    assert len(flows) == 164
    f = next(x for x in flows if x['table'] == 0 and x['match'] == 'in_port=3')
    assert (f['priority'], f['n_packets'], f['n_bytes'], f['cookie'], f['duration']) == (100, 0, 0, '0x7392dab3', 50.863)
    assert f['actions'].startswith('set_field:0x1->reg13,') and f['actions'].endswith('resubmit(,8)')
    default = [x for x in flows if x['table'] == 0 and x['match'] == '']
    assert [(x['priority'], x['actions']) for x in default] == [(0, 'drop')]
    assert {x['table'] for x in flows} >= {0, 8, 40}


def test_flows_of_br_phy_openflow10():
    (f,) = _ovs.parse_flows(_read('br-phy.dump-flows.of10.txt'))
    assert (f['table'], f['priority'], f['n_packets'], f['actions']) == (0, 0, 60, 'NORMAL')


def test_flows_of_the_openvswitch_agents_bridges_openflow13():
    # real dumps of the ML2/OVS lab: OpenFlow 1.3 prints the flow's flags (reset_counts) before the match, space-separated
    tun = _ovs.parse_flows(_read('br-tun.ml2ovs.dump-flows.of13.txt'))
    t4 = [f for f in tun if f['table'] == 4]
    assert sorted((f['priority'], f['match'], f['actions'].split(',')[0]) for f in t4) == [
        (0, '', 'drop'), (1, 'tun_id=0x435', 'push_vlan:0x8100')]
    assert all('reset_counts' not in f['match'] for f in tun)
    learn = next(f for f in tun if f['table'] == 10)
    assert learn['actions'].startswith('learn(table=20,hard_timeout=300,priority=1,') and learn['actions'].endswith('output:1')
    integ = _ovs.parse_flows(_read('br-int.ml2ovs.dump-flows.of13.txt'))
    dead = next(f for f in integ if f['priority'] == 65535)
    assert (dead['table'], dead['match'], dead['actions']) == (0, 'dl_vlan=4095', 'drop')


def test_trace_of_a_forwarded_packet():
    # real ofproto/trace of the ML2/OVS lab: vm1's ping to its gateway, from its qvo port through br-int and br-tun
    t = _ovs.parse_trace(_read('trace.ml2ovs.healthy.txt'))
    assert [b['bridge'] for b in t['bridges']] == ['br-int', 'br-tun', 'br-phy']
    assert [(s['table'], s['priority']) for s in t['bridges'][0]['steps']] == [(0, 0), (58, 0), (59, 0), (60, 3)]
    out = t['bridges'][1]['steps'][-1]
    assert (out['table'], out['priority'], out['match']) == (20, 1, 'vlan_tci=0x0001/0x0fff,dl_dst=fa:16:3e:6b:b0:ae')
    assert out['actions'][-1] == 'output:2' and out['notes'][0] == 'output to native tunnel'
    assert t['datapath_actions'].startswith('tnl_push(') and not t['dropped'] and t['drops'] == []
    assert t['input_flow'].startswith('icmp,in_port=4,')


def test_trace_names_the_dropping_table():
    # the same packet with the port in the dead VLAN: flooded in VLAN 4095, which br-tun's table 22 drops
    t = _ovs.parse_trace(_read('trace.ml2ovs.dead_vlan.txt'))
    assert not t['dropped'] and [(d['bridge'], d['table'], d['priority']) for d in t['drops']] == [('br-tun', 22, 0)]
    # vm2's answer from the tunnel, br-tun without the table 4 flow of the network's vxlan id: dropped there
    t = _ovs.parse_trace(_read('trace.ml2ovs.tunnel_flow_missing.txt'))
    assert t['dropped'] and t['datapath_actions'] == 'drop'
    assert [(d['bridge'], d['table'], d['match']) for d in t['drops']] == [('br-tun', 4, '')]
    with pytest.raises(_ovs.OvsError, match='not ofproto/trace output'):
        _ovs.parse_trace('Bad openflow flow syntax: in_port=nope')


def test_bad_flow_dump_is_named():
    with pytest.raises(_ovs.OvsError, match='line 2 is not a flow'):
        _ovs.parse_flows('NXST_FLOW reply (xid=0x4):\n this is not a flow\n')
    with pytest.raises(_ovs.OvsError, match='n_packets is not a number'):
        _ovs.parse_flows(' cookie=0x0, table=0, n_packets=x, priority=0 actions=drop\n')


def _nb(port='p1', up=True, enabled=None):
    return {'logical_switches': [{'name': 'neutron-n1', 'ports': [
        {'name': port, 'type': '', 'up': up, 'enabled': enabled}, {'name': 'rp', 'type': 'router', 'up': False}]}]}


@pytest.mark.parametrize('nb, sb, codes', [
    (_nb(), {'port_bindings': [{'logical_port': 'p1', 'chassis': 'c1'}], 'chassis': [{'name': 'c1', 'encaps': [{}]}]}, []),
    (_nb(), {'port_bindings': [{'logical_port': 'p1', 'chassis': None}], 'chassis': []}, ['port_not_bound']),
    (_nb(), {'port_bindings': [], 'chassis': []}, ['no_port_binding']),
    (_nb(), {'port_bindings': [{'logical_port': 'p1', 'chassis': 'c2', 'requested_chassis': 'c1'}], 'chassis': []},
     ['bound_elsewhere']),
    (_nb(up=False), {'port_bindings': [{'logical_port': 'p1', 'chassis': 'c1'}], 'chassis': [{'name': 'c1', 'encaps': []}]},
     ['port_down', 'chassis_without_encap']),
    (_nb(enabled=False), None, ['port_disabled']),
])
def test_ovn_problems(nb, sb, codes):
    assert [p['code'] for p in _ovn.problems(nb, sb)] == codes


def test_ovs_devices_down_by_design_are_no_problem():
    # interface_info of the OVN lab's compute node (real output): ovs-netdev and br-int are down, as OVN leaves them
    import copy
    import json
    from ansible_collections.cloudops.netdiag.plugins.module_utils._interfaces import evaluate_problems
    with open(os.path.join(os.path.dirname(FIX), 'ovn', 'healthy_compute1_vm1.json'), encoding='utf-8') as f:
        ifs = copy.deepcopy(json.load(f)['interfaces'])
    down = {i['name'] for i in ifs if i['up'] is False}
    assert {'ovs-netdev', 'br-int'} <= down
    evaluate_problems(ifs)
    assert [(i['name'], i['problems']) for i in ifs if i['problems']] == []
    assert {i['name'] for i in ifs if i['ignorable']} == {'ovs-netdev', 'br-int'}
    # br-phy carries the tunnel address: down, it is a problem
    for i in ifs:
        if i['name'] == 'br-phy':
            i['up'] = False
    evaluate_problems(ifs)
    assert [(i['name'], [p['code'] for p in i['problems']]) for i in ifs if i['problems']] == [('br-phy', ['admin_down'])]
