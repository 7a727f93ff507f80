# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ML2/OVN rules, each on the fault it names and on its near miss. The healthy evidence is the real output of
ovs_info, interface_info, ovn_info and neutron_db_info on the OVN lab (tests/unit/fixtures/ovn/); each test changes
in it what the fault changes. The rules on the real faults: tests/integration/diagnose/test_diagnose_ovn.py."""

from __future__ import annotations

import copy
import json
import os
import re

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _model_ovn, _rules

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'ovn')
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
RULES = {r.cause: r for r in _rules.rules_of('ovn')}

with open(os.path.join(FIX, 'healthy_compute1_vm1.json'), encoding='utf-8') as _f:
    HEALTHY = json.load(_f)


def facts():
    return copy.deepcopy(HEALTHY)


def evaluate(f, symptom=None):
    ev = _model_ovn.evidence(f['instance'], f['compute_host'], interfaces=f['interfaces'], ovs=f['ovs'], nb=f['nb'], sb=f['sb'],
                             neutron_ports=f['neutron_ports'], neutron_audit=f['neutron_audit'], symptom=symptom, traces=f.get('traces'),
                             network_host=f.get('network_host'), network_interfaces=f.get('network_interfaces'),
                             network_ovs=f.get('network_ovs'), metadata=f.get('metadata'))
    return _engine.evaluate(ev)


def causes(f, symptom=None):
    v = evaluate(f, symptom)
    return v['cause'], [s['cause'] for s in v['suspects']]


def port(f):
    return f['neutron_ports'][0]


def lsp(f):
    return next(p for ls in f['nb']['logical_switches'] for p in ls['ports'] if p['name'] == port(f)['id'])


def tap(f):
    return next(i for b in f['ovs']['bridges'] for p in b['ports'] for i in p['interfaces']
                if i['external_ids'].get('iface-id') == port(f)['id'])


def iface(f, name):
    return next(i for i in f['interfaces'] if i['name'] == name)


def test_healthy_is_none():
    v = evaluate(facts(), symptom='unreachable')
    assert (v['cause'], v['suspects']) == ('unknown', [])      # reported broken, nothing found: no guess
    assert evaluate(facts())['cause'] == 'none'


def test_port_binding_failed():
    f = facts()
    port(f)['binding']['vif_type'] = 'binding_failed'
    assert causes(f)[0] == 'port_binding_failed'
    f = facts()
    port(f)['binding']['vif_type'] = 'ovs'
    assert causes(f)[0] == 'none'


def test_ovn_port_missing():
    f = facts()
    for ls in f['nb']['logical_switches']:
        ls['ports'] = [p for p in ls['ports'] if p['name'] != port(f)['id']]
    assert causes(f)[0] == 'ovn_port_missing'
    # the whole switch missing is not this rule (the network itself is not in OVN)
    f['nb']['logical_switches'] = []
    assert causes(f)[0] == 'none'


def test_ovn_controller_down():
    f = facts()
    f['ovs']['daemons']['ovn-controller'] = []
    assert causes(f)[0] == 'ovn_controller_down'
    # a switch that is no OVN chassis needs none
    f['ovs']['open_vswitch']['ovn'] = {}
    assert causes(f)[0] == 'none'


def test_tap_missing():
    f = facts()
    for b in f['ovs']['bridges']:
        for p in b['ports']:
            p['interfaces'] = [i for i in p['interfaces'] if i['external_ids'].get('iface-id') != port(f)['id']]
    assert causes(f)[0] == 'tap_missing'
    f = facts()
    tap(f)['external_ids'].pop('iface-id')      # still there by its name: not missing
    assert causes(f)[0] != 'tap_missing'


def test_port_not_bound():
    f = facts()
    tap(f)['external_ids'].pop('iface-id')
    for b in f['sb']['port_bindings']:
        if b['logical_port'] == port(f)['id']:
            b['chassis'] = b['chassis_hostname'] = None
    assert causes(f)[0] == 'port_not_bound'
    # the iface-id gone but the binding still there (ovn-controller has not seen it yet): not claimed-by-nobody
    f = facts()
    tap(f)['external_ids'].pop('iface-id')
    assert causes(f)[0] == 'none'


def test_tap_down():
    f = facts()
    tap(f)['link_state'] = 'down'
    assert causes(f)[0] == 'tap_down'
    f = facts()
    tap(f)['link_state'] = 'up'
    assert causes(f)[0] == 'none'


def test_port_disabled():
    f = facts()
    lsp(f)['enabled'] = False
    assert causes(f)[0] == 'port_disabled'
    f = facts()
    lsp(f)['enabled'] = None        # unset is enabled
    assert causes(f)[0] == 'none'


def test_port_bound_elsewhere():
    f = facts()
    for b in f['sb']['port_bindings']:
        if b['logical_port'] == port(f)['id']:
            b['chassis_hostname'] = 'compute9'
    assert causes(f)[0] == 'port_bound_elsewhere'
    f = facts()
    for b in f['sb']['port_bindings']:
        if b['logical_port'] == port(f)['id']:
            b['chassis_hostname'] = None    # a chassis without hostname tells nothing
    assert causes(f)[0] == 'none'


def test_tunnel_endpoint_down():
    f = facts()
    dev = _model_ovn.encap_device(f['interfaces'], f['ovs']['open_vswitch']['ovn']['encap_ip'])
    assert dev == 'br-phy'
    i = iface(f, dev)
    i['flags'] = [x for x in i['flags'] if x not in ('UP', 'LOWER_UP')]
    i['up'], i['operstate'] = False, 'DOWN'
    assert causes(f)[0] == 'tunnel_endpoint_down'
    f = facts()
    for i in f['interfaces']:
        i['addresses'] = [a for a in i['addresses'] if a.get('address') != f['ovs']['open_vswitch']['ovn']['encap_ip']]
    assert causes(f)[0] == 'tunnel_endpoint_down'      # nobody holds the address
    f = facts()
    iface(f, 'eth1')['mtu'] = 9000                      # another interface: no change
    assert causes(f)[0] == 'none'


def test_underlay_mtu_too_small():
    f = facts()
    iface(f, 'br-phy')['mtu'] = 1400
    assert causes(f)[0] == 'underlay_mtu_too_small'
    f = facts()
    iface(f, 'br-phy')['mtu'] = port(f)['network']['mtu'] + _model_ovn.GENEVE_OVERHEAD     # exactly enough
    assert causes(f)[0] == 'none'


def _add_acl(f, match, action='drop', owner=None):
    acl = {'uuid': 'x', 'name': None, 'direction': 'to-lport', 'priority': 1001, 'match': match, 'action': action,
           'log': False, 'severity': None, 'external_ids': {}}
    if owner is None:
        f['nb']['logical_switches'][0]['acls'].append(acl)
    else:
        f['nb']['port_groups'].append({'name': owner, 'uuid': 'y', 'ports': [port(f)['id']], 'acls': [acl], 'external_ids': {}})


def test_acl_drop():
    f = facts()
    _add_acl(f, 'outport == "%s" && ip4' % port(f)['id'])
    assert causes(f) == ('none', ['acl_drop'])                          # likely: a finding without a symptom
    assert causes(f, symptom='unreachable')[0] == 'acl_drop'
    f = facts()
    _add_acl(f, 'outport == @pg_x && ip4', owner='pg_x')
    assert causes(f, symptom='unreachable')[0] == 'acl_drop'
    # Neutron's own default drop group, and an ACL of another port, are not it
    f = facts()
    _add_acl(f, 'outport == @neutron_pg_drop && ip', owner='neutron_pg_drop')
    _add_acl(f, 'outport == "other-port" && ip4')
    _add_acl(f, 'outport == "%s" && ip4' % port(f)['id'], action='allow-related')
    assert causes(f, symptom='unreachable') == ('unknown', [])


def _trace(name):
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _ovn
    with open(os.path.join(FIX, 'trace.%s.txt' % name), encoding='utf-8') as f:
        return dict(_ovn.parse_trace(f.read()), datapath='neutron-x', microflow='inport == "second" && icmp4')


def test_acl_drop_confirmed_by_ovn_trace():
    # the real ovn-trace of vm2's ping to vm1 on the OVN lab with the ACL fault: dropped in ls_out_acl
    f = facts()
    t = _trace('acl_drop')
    assert t['dropped'] and t['drop']['stage'] == 'ls_out_acl' and t['drop']['pipeline'] == 'egress'
    _add_acl(f, t['drop']['match'])
    f['traces'] = [t]
    v = evaluate(f)                       # no symptom needed: the trace confirms it
    assert v['cause'] == 'acl_drop' and any('dropped in egress ls_out_acl' in e['excerpt'] for e in v['evidence'])
    # the healthy trace of the same packet outputs it to vm1's port
    f = facts()
    f['traces'] = [_trace('healthy')]
    assert f['traces'][0]['outputs'] and not f['traces'][0]['dropped']
    assert evaluate(f)['cause'] == 'none'


def test_logical_pipeline_drop():
    f = facts()
    t = _trace('acl_drop')
    t['drop'].update(stage='ls_in_check_port_sec', pipeline='ingress', table=0, match='1')
    f['traces'] = [t]
    assert causes(f, symptom='unreachable')[0] == 'logical_pipeline_drop'
    assert causes(f)[0] == 'none'         # likely: named with a symptom


def with_gateway(f):
    """The healthy facts plus the gateway chassis' (real interface_info and ovs_info of the OVN lab's controller,
    tests/unit/fixtures/ovn/gateway_chassis.json) and the router Neutron has on the network."""
    with open(os.path.join(FIX, 'gateway_chassis.json'), encoding='utf-8') as fh:
        gw = json.load(fh)
    port(f)['network']['routers'] = gw['routers']
    f.update(network_host=gw['network_host'], network_interfaces=gw['network_interfaces'], network_ovs=gw['network_ovs'])
    return f


def test_provider_uplink_down():
    f = with_gateway(facts())
    assert evaluate(f)['cause'] == 'none'
    ev = _model_ovn.evidence(f['instance'], f['compute_host'], ovs=f['ovs'], neutron_ports=f['neutron_ports'],
                             network_host=f['network_host'])
    assert [h['kind'] for h in ev['hops']][-2:] == ['router_gateway', 'uplink']
    up = next(i for i in f['network_interfaces'] if i['name'] == 'eth0' and i.get('netns') is None)
    up['flags'] = [x for x in up['flags'] if x not in ('UP', 'LOWER_UP')]
    up['operstate'], up['carrier'] = 'DOWN', False
    v = evaluate(f)
    assert v['cause'] == 'provider_uplink_down' and 'ip link set eth0 up' in v['advice'] and 'br-ex' in v['evidence'][0]['excerpt']
    # near miss: a chassis without bridge mappings has no provider uplink to judge
    f['network_ovs']['open_vswitch']['ovn'].pop('bridge_mappings')
    assert evaluate(f)['cause'] == 'none'


def test_floating_ip_stale():
    f = with_gateway(facts())
    fip = port(f)['floating_ips'][0]['floating_ip_address']
    port(f)['floating_ips'] = []
    f['neutron_audit'] = [{'code': 'floating_ip_stale', 'object': fip, 'severity': 'error', 'port_id': 'an-orphan',
                           'network_id': port(f)['network']['id'], 'router_id': None, 'fixed_ip_address': '10.1.0.250',
                           'message': 'floating IP %s is associated with port an-orphan, which no device uses any more' % fip}]
    v = evaluate(f)
    assert v['cause'] == 'floating_ip_stale' and fip in v['summary']
    f['neutron_audit'][0]['network_id'] = 'another'
    assert evaluate(f)['cause'] == 'none'


def test_dhcp_options_missing():
    f = facts()
    lsp(f)['dhcpv4_options'] = None
    assert causes(f)[0] == 'dhcp_options_missing'
    f = facts()
    lsp(f)['dhcpv4_options'] = None
    for fip in port(f)['fixed_ips']:
        fip['subnet']['enable_dhcp'] = False          # a subnet without DHCP needs no options
    assert causes(f)[0] == 'none'


def test_floating_ip_nat_missing():
    f = facts()
    fip = port(f)['floating_ips'][0]['floating_ip_address']
    for r in f['nb']['logical_routers']:
        r['nat'] = [n for n in r['nat'] if n.get('external_ip') != fip]
    assert causes(f)[0] == 'floating_ip_nat_missing'
    # the entry there but for another fixed IP is no translation of this instance either
    f = facts()
    for r in f['nb']['logical_routers']:
        for n in r['nat']:
            if n.get('external_ip') == fip:
                n['logical_ip'] = '10.1.0.99'
    assert causes(f)[0] == 'floating_ip_nat_missing'
    # an instance without a floating IP needs no NAT of its own
    f = facts()
    port(f)['floating_ips'] = []
    for r in f['nb']['logical_routers']:
        r['nat'] = [n for n in r['nat'] if n.get('type') != 'dnat_and_snat']
    assert causes(f)[0] == 'none'


def test_missing_facts_are_unchecked_not_guessed():
    f = facts()
    ev = _model_ovn.evidence(f['instance'], f['compute_host'], interfaces=f['interfaces'], ovs=None, nb=f['nb'], sb=None,
                             neutron_ports=f['neutron_ports'])
    v = _engine.evaluate(ev)
    unchecked = {u['cause']: u['reason'] for u in v['unchecked']}
    assert 'switch of compute1 was not read' in unchecked['tap_down']
    assert 'southbound DB was not read' in unchecked['port_bound_elsewhere']


def test_every_rule_is_tested_and_documented():
    assert [r.rank for r in RULES.values()] == sorted(r.rank for r in RULES.values())
    with open(__file__, encoding='utf-8') as f:
        here = f.read()
    for r in RULES.values():
        assert r.title and r.detects and r.cites and r.advice and r.tests, r.id
        assert 'def test_%s(' % r.cause in here, r.id
        for t in r.tests:
            path, dummy, name = t.partition('::')
            with open(os.path.join(REPO, path), encoding='utf-8') as f:
                assert re.search(r'^def %s\(' % re.escape(re.sub(r'\[.*\]$', '', name)), f.read(), re.M), t


@pytest.mark.parametrize('cause', sorted(RULES))
def test_place_of_each_cause(cause):
    kind, label = _engine.cause_place(cause, 'ovn')
    assert kind in _rules.PLACE_KINDS and label


def with_metadata(f):
    """The network's OVN metadata port (neutron_db_info) and what socket_info read in its ovnmeta- namespace on compute1,
    real output of the OVN lab (tests/unit/fixtures/ovn/metadata_compute1.json)."""
    with open(os.path.join(FIX, 'metadata_compute1.json'), encoding='utf-8') as fh:
        md = json.load(fh)
    assert md['network_id'] == port(f)['network']['id']
    port(f)['network']['metadata_ports'] = md['metadata_ports']
    f['metadata'] = md['metadata']
    return f


def test_metadata_proxy_down():
    f = with_metadata(facts())
    assert [(s['address'], s['port']) for s in f['metadata']['sockets']] == [('169.254.169.254', 80)]
    assert evaluate(f)['cause'] == 'none'
    f['metadata']['sockets'] = []
    v = evaluate(f)
    assert v['cause'] == 'metadata_proxy_down' and 'neutron-ovn-metadata-agent' in v['advice']
    assert any('nothing listens on 169.254.169.254:80 in ovnmeta-%s' % port(f)['network']['id'] in x['excerpt'] for x in v['evidence'])
    # the namespace itself missing: socket_info's own message is the evidence
    f['metadata'] = {'netns': f['metadata']['netns'], 'failed': True,
                     'msg': 'cannot read the sockets of network namespace %s: network namespace %s does not exist'
                            % (f['metadata']['netns'], f['metadata']['netns'])}
    v = evaluate(f)
    assert v['cause'] == 'metadata_proxy_down' and 'did not provision' in v['advice']
    # near misses: a proxy on another address of port 80 still serves; a network without a metadata port has none to miss
    f = with_metadata(facts())
    f['metadata']['sockets'][0]['address'] = '10.1.0.99'
    assert evaluate(f)['cause'] == 'metadata_proxy_down'
    f['metadata']['sockets'][0]['address'] = '0.0.0.0'
    assert evaluate(f)['cause'] == 'none'
    f['metadata']['sockets'] = []
    port(f)['network']['metadata_ports'] = []
    assert evaluate(f)['cause'] == 'none'


def test_sg_rule_missing_in_ovn():
    f = facts()
    sg = port(f)['security_groups'][0]
    pg = next(g for g in f['nb']['port_groups'] if g['name'] == 'pg_%s' % sg['id'].replace('-', '_'))
    # the lab's port group as Neutron writes it: the port in it, one allow-related ACL per rule, named by the rule's id
    assert port(f)['id'] in pg['ports'] and len(sg['rules']) == 6
    assert sorted(a['external_ids']['neutron:security_group_rule_id'] for a in pg['acls']) == sorted(r['id'] for r in sg['rules'])
    icmp = next(r for r in sg['rules'] if r['protocol'] == 'icmp')
    pg['acls'] = [a for a in pg['acls'] if a['external_ids']['neutron:security_group_rule_id'] != icmp['id']]
    v = evaluate(f, symptom='unreachable')
    assert v['cause'] == 'sg_rule_missing_in_ovn' and 'neutron-ovn-db-sync-util' in v['advice']
    assert any('rule %s of default (ingress IPv4 icmp from 0.0.0.0/0) has no ACL' % icmp['id'] in x['excerpt'] for x in v['evidence'])
    # the port out of its group's port group
    f = facts()
    pg = next(g for g in f['nb']['port_groups'] if g['name'] == 'pg_%s' % sg['id'].replace('-', '_'))
    pg['ports'] = []
    assert evaluate(f)['cause'] == 'sg_rule_missing_in_ovn'
    # near miss: a rule OVN has under another ACL order, and a group found by its external_ids under another name
    f = facts()
    pg = next(g for g in f['nb']['port_groups'] if g['name'] == 'pg_%s' % sg['id'].replace('-', '_'))
    pg['acls'].reverse()
    pg['name'] = 'renamed'
    assert evaluate(f)['cause'] == 'none'
