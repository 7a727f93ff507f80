# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""interface_info, bridge_info and iptables_info on the seed lab, against the lab's known truth
(state.json), healthy and under the faults that concern them (each fault healed in a finally)."""

from __future__ import annotations

import pytest

from facts_net_helpers import run_module, sh  # pylint: disable=import-error

pytestmark = pytest.mark.lab


def module(name, args):
    rc, res = run_module(name, args)
    assert rc == 0 and not res.get('failed'), res
    return res


def by_name(res):
    return {i['name']: i for i in res['interfaces']}


def computes(lab):
    return sorted(lab.model['computes'])


def test_interfaces_match_lab_truth(seed_lab):
    lab = seed_lab
    for host, truth in sorted(lab.state['hosts'].items()):
        if not truth.get('interfaces'):
            continue
        got = by_name(module('interface_info', {'netns': [lab.ns(host)]}))
        for name, want in truth['interfaces'].items():
            itf = got[name]
            assert itf['kind'] == want['kind'], (host, name)
            if 'master' in want or truth.get('role') in ('compute', 'instance'):
                assert itf['master'] == want.get('master'), (host, name)
            if want.get('mac'):
                assert itf['mac'] == want['mac'], (host, name)
            have = {'%s/%s' % (a['address'], a['prefixlen']) for a in itf['addresses']}
            assert set(want.get('addresses', [])) <= have, (host, name)
            assert itf['problems'] == [], (host, name, itf['problems'])
            if want.get('peer'):
                peer_host, peer_name = want['peer']
                assert itf['link_netns'] == lab.ns(peer_host), (host, name)


def test_all_namespaces_tags_each_host(seed_lab):
    lab = seed_lab
    res = module('interface_info', {'netns': ['all'], 'name': ['vnet*']})
    vnets = {(i['netns'], i['name']) for i in res['interfaces'] if i['netns'] and i['netns'].startswith(lab.name + '-')}
    want = {(lab.ns(c), v) for c in computes(lab) for v in lab.model['computes'][c]['vnets']}
    assert vnets == want


def test_bridges_match_lab_truth(seed_lab):
    lab = seed_lab
    for host in computes(lab):
        comp = lab.model['computes'][host]
        res = module('bridge_info', {'netns': [lab.ns(host)]})
        brs = {b['name']: b for b in res['bridges']}
        for inst in lab.model['instances'].values():
            if inst['host'] == host and inst['state'] == 'active':
                ports = {p['name']: p for p in brs[inst['bridge']]['ports']}
                assert ports[inst['vnet']]['state'] == 'forwarding'
                assert comp['flat_interface'] in ports or comp.get('vlan_interface')
                where = module('bridge_info', {'netns': [lab.ns(host)], 'interface': inst['vnet']})['member_of']
                assert [(w['bridge'], w['netns']) for w in where] == [(inst['bridge'], lab.ns(host))]
        assert res['problems'] == []


def test_iptables_nat_matches_floating_ips(seed_lab):
    lab = seed_lab
    for inst in lab.model['instances'].values():
        if not inst.get('floating_ip') or inst['state'] != 'active':
            continue
        res = module('iptables_info', {'netns': lab.ns(inst['host']), 'floating_ip': [inst['floating_ip']]})
        nat = res['nat'][0]
        assert nat['fixed_addresses'] == [inst['fixed_ip']]
        assert nat['dnat'] and nat['snat']
        assert any(c.endswith('nova-network-PREROUTING') for c in res['summary']['nova_chains'])


def test_fault_vnet_down(seed_lab):
    lab = seed_lab
    inst = next(i for i in lab.model['instances'].values() if i['state'] == 'active')
    try:
        lab.fault('vnet_down', inst['hostname'])
        res = module('interface_info', {'netns': [lab.ns(inst['host']), lab.ns(inst['hostname'])]})
        d = {(i['netns'], i['name']): i for i in res['interfaces']}
        vnet = d[(lab.ns(inst['host']), inst['vnet'])]
        assert [p['code'] for p in vnet['problems']] == ['enslaved_but_down']
        guest = d[(lab.ns(inst['hostname']), 'eth0')]
        assert [p['code'] for p in guest['problems']] == ['lower_layer_down']
        br = module('bridge_info', {'netns': [lab.ns(inst['host'])]})
        assert ('port_down', '%s/%s/%s' % (lab.ns(inst['host']), inst['bridge'], inst['vnet'])) in \
            [(p['code'], p['object']) for p in br['problems']]
    finally:
        lab.heal()


def test_fault_bridge_down(seed_lab):
    lab = seed_lab
    inst = next(i for i in lab.model['instances'].values() if i['state'] == 'active')
    try:
        lab.fault('bridge_down', inst['hostname'])
        d = by_name(module('interface_info', {'netns': [lab.ns(inst['host'])]}))
        assert [p['code'] for p in d[inst['bridge']]['problems']] == ['admin_down']
        assert 'master_down' in [p['code'] for p in d[inst['vnet']]['problems']]
    finally:
        lab.heal()


def test_fault_nat_missing(seed_lab):
    lab = seed_lab
    inst = next(i for i in lab.model['instances'].values() if i['state'] == 'active' and i.get('floating_ip'))
    try:
        lab.fault('nat_missing', inst['hostname'])
        nat = module('iptables_info', {'netns': lab.ns(inst['host']), 'floating_ip': [inst['floating_ip']]})['nat'][0]
        assert nat['dnat'] == [] and nat['snat'] == [] and nat['fixed_addresses'] == []
    finally:
        lab.heal()


def test_fault_forward_drop_counters_name_the_rule(seed_lab):
    lab = seed_lab
    inst = next(i for i in lab.model['instances'].values() if i['state'] == 'active' and i.get('floating_ip'))
    ext = lab.model['external']['servers'][0]['name']
    try:
        lab.fault('forward_drop', inst['hostname'])
        before = module('iptables_info', {'netns': lab.ns(inst['host']), 'table': ['filter']})
        sh('ping', '-c', '3', '-i', '0.2', '-W', '1', inst['floating_ip'], ns=lab.ns(ext), check=False)
        after = module('iptables_info', {'netns': lab.ns(inst['host']), 'table': ['filter'], 'compare_to': before})
        drops = [m for m in after['moved'] if m['drop']]
        assert drops and drops[0]['chain'] == 'nova-network-FORWARD'
        assert '%s/32' % inst['fixed_ip'] in drops[0]['rule'] and drops[0]['packets'] >= 3
    finally:
        lab.heal()
