# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hop list and verdict engine on evidence shaped like the modules' RETURN docs."""

from __future__ import annotations

import os

import copy

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _verdict

from diagnose_evidence import FIXED, FLOAT, MAC, healthy, iface, probe, with_hops


def run(ev):
    return _verdict.evaluate(with_hops(ev))


def test_hops_follow_the_chapter_path():
    ev = with_hops(healthy())
    kinds = [(h['kind'], h['host'], h['interface'], h['address']) for h in ev['hops']]
    assert kinds == [
        ('guest_nic', 'guest-test', 'eth0', FIXED),
        ('vnet', 'mynode', 'vnet1', None),
        ('bridge', 'mynode', 'br100', '10.0.2.1'),
        ('uplink', 'mynode', 'eth1', None),
        ('physical', 'mynode', 'eth0', '203.0.113.34'),
        ('gateway', None, None, '203.0.113.1'),
        ('external', 'outside', None, '1.2.3.4'),
    ]
    assert ev['hops'][1]['mac'] == MAC
    assert any('flat_interface' in n for n in ev['hops'][3]['notes'])
    assert any('public_interface' in n for n in ev['hops'][4]['notes'])
    assert [h['index'] for h in ev['hops']] == list(range(7))


def test_hops_derive_names_from_inputs_only():
    ev = healthy()
    c = ev['hosts']['mynode']
    ren = {'br100': 'brq-tenant7', 'vnet1': 'tap0a1b', 'eth0': 'bond0', 'eth1': 'ens4f1'}
    for i in c['interfaces']:
        i['name'] = ren.get(i['name'], i['name'])
        if i['master']:
            i['master'] = ren.get(i['master'], i['master'])
    for b in c['bridges']:
        b['name'] = ren.get(b['name'], b['name'])
        for p in b['ports']:
            p['name'] = ren.get(p['name'], p['name'])
    c['domains'][0]['interfaces'][0].update(target_dev='tap0a1b', source_bridge='brq-tenant7')
    c['domains'][1]['interfaces'][0].update(source_bridge='brq-tenant7')
    c['nova_conf'].update(flat_interface='ens4f1', flat_network_bridge='brq-tenant7', public_interface='bond0')
    c['routes'][0]['dev'] = 'bond0'
    c['routes'][0]['gateway'] = '198.51.100.254'
    ev['instance']['fixed_ips'][0]['network']['bridge'] = 'brq-tenant7'
    c['dnsmasq']['processes'][0]['bridge'] = 'brq-tenant7'
    ev = with_hops(ev)
    assert [h['interface'] for h in ev['hops'][:5]] == ['eth0', 'tap0a1b', 'brq-tenant7', 'ens4f1', 'bond0']
    assert ev['hops'][5]['address'] == '198.51.100.254'
    v = _verdict.evaluate(ev)
    assert (v['status'], v['cause']) == ('ok', 'none')


def test_vlan_uplink_is_the_vlan_port_and_other_domains_taps_are_not_uplinks():
    ev = healthy()
    c = ev['hosts']['mynode']
    c['interfaces'].append({'name': 'vlan102', 'kind': 'vlan', 'link': 'eth1', 'flags': ['UP', 'LOWER_UP'], 'master': 'br100',
                            'operstate': 'UP', 'carrier': True})
    c['bridges'][0]['ports'] = [{'name': 'vlan102'}, {'name': 'vnet1'}, {'name': 'vnet2'}]
    c['nova_conf'] = {'network_manager': 'nova.network.manager.VlanManager', 'vlan_interface': 'eth1', 'public_interface': 'eth0',
                      'multi_host': True}
    ev = with_hops(ev)
    uplinks = [h for h in ev['hops'] if h['kind'] == 'uplink']
    assert [u['interface'] for u in uplinks] == ['vlan102']
    assert any('on eth1' in n for n in uplinks[0]['notes'])


def test_healthy_path_is_ok_without_false_alarm():
    v = run(healthy())
    assert v['status'] == 'ok'
    assert v['cause'] == 'none' and v['segment'] is None
    assert v['suspects'] == []  # virbr0 without carrier and the sg-fallback DROP are not suspects
    assert v['capture']['request_last_seen'] == '04-physical'


def test_same_verdict_on_repeated_evaluation():
    ev = healthy()
    iface(ev, 'mynode', 'vnet1')['flags'].remove('UP')
    probe(ev, 'guest_external', False)
    probe(ev, 'guest_compute', False)
    runs = [run(copy.deepcopy(ev)) for dummy in range(3)]
    assert runs[0] == runs[1] == runs[2]


def _fail_pings(ev, compute_ok=False):
    probe(ev, 'guest_external', False)
    probe(ev, 'guest_compute', compute_ok)


@pytest.mark.parametrize('case', [
    'instance_interface_down', 'vnet_missing', 'vnet_down', 'vnet_not_in_bridge', 'bridge_down',
])
def test_link_layer_faults_between_instance_and_compute(case):
    ev = healthy()
    _fail_pings(ev)
    c = ev['hosts']['mynode']
    if case == 'instance_interface_down':
        g = iface(ev, 'guest-test', 'eth0')
        g['flags'] = ['BROADCAST', 'MULTICAST']
        g['operstate'] = 'DOWN'
        v1 = iface(ev, 'mynode', 'vnet1')
        v1['flags'].remove('LOWER_UP')
        v1['carrier'] = False
        v1['operstate'] = 'LOWERLAYERDOWN'
    elif case == 'vnet_missing':
        c['interfaces'] = [i for i in c['interfaces'] if i['name'] != 'vnet1']
        c['bridges'][0]['ports'] = [p for p in c['bridges'][0]['ports'] if p['name'] != 'vnet1']
    elif case == 'vnet_down':
        v1 = iface(ev, 'mynode', 'vnet1')
        v1['flags'] = ['BROADCAST', 'MULTICAST']
        v1['operstate'] = 'DOWN'
        v1['problems'] = [{'code': 'admin_down', 'message': 'vnet1 is administratively down', 'object': 'vnet1'}]
    elif case == 'vnet_not_in_bridge':
        iface(ev, 'mynode', 'vnet1')['master'] = None
        c['bridges'][0]['ports'] = [p for p in c['bridges'][0]['ports'] if p['name'] != 'vnet1']
    elif case == 'bridge_down':
        b = iface(ev, 'mynode', 'br100')
        b['flags'] = ['BROADCAST', 'MULTICAST']
        b['operstate'] = 'DOWN'
    v = run(ev)
    assert (v['status'], v['cause']) == ('fault', case)
    assert v['segment'] == ('instance' if case == 'instance_interface_down' else 'instance_to_compute')
    assert v['evidence'] and all(set(e) == {'host', 'source', 'excerpt', 'kind'} for e in v['evidence'])
    assert v['evidence'][0]['kind'] == 'cause'
    assert v['hop'] and v['place']['kind'] == 'hop' and v['place']['hop'] == v['hop']
    assert 'killall' not in v['advice']


def test_vnet_down_advice_names_the_host_and_device():
    ev = healthy()
    _fail_pings(ev)
    iface(ev, 'mynode', 'vnet1')['flags'] = ['BROADCAST', 'MULTICAST']
    v = run(ev)
    assert '`ip link set vnet1 up`' in v['advice'] and 'mynode' in v['advice']


def test_guest_nic_down_inferred_from_tap_carrier_when_guest_unreachable():
    ev = healthy()
    del ev['hosts']['guest-test']
    ev['guest_host'] = None
    ev['_hops_inputs']['guest_host'] = None
    ev['_hops_inputs']['guest_interfaces'] = None
    ev['probes'] = [{'step': 'compute_fixed_ip', 'from_host': 'mynode', 'target': FIXED, 'sent': 2, 'received': 0},
                    {'step': 'external_floating_ip', 'from_host': 'outside', 'target': FLOAT, 'sent': 2, 'received': 0}]
    v1 = iface(ev, 'mynode', 'vnet1')
    v1['flags'].remove('LOWER_UP')
    v1['carrier'] = False
    v = run(ev)
    assert (v['cause'], v['segment']) == ('instance_interface_down', 'instance')


def test_physical_egress_down_beats_gateway_unreachable():
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    probe(ev, 'compute_gateway', False)
    e0 = iface(ev, 'mynode', 'eth0')
    e0['flags'] = ['BROADCAST', 'MULTICAST']
    v = run(ev)
    assert (v['cause'], v['segment'], v['hop']) == ('physical_interface_down', 'compute_to_gateway', '04-physical')
    assert [s['cause'] for s in v['suspects']] == ['physical_interface_down']


def test_uplink_without_carrier_is_physical_interface_down_between_instance_and_compute():
    ev = healthy()
    e1 = iface(ev, 'mynode', 'eth1')
    e1['carrier'] = False
    e1['flags'].remove('LOWER_UP')
    v = run(ev)
    assert (v['cause'], v['segment'], v['hop']) == ('physical_interface_down', 'instance_to_compute', '03-uplink')
    assert 'no carrier' in v['advice']


def test_gateway_unreachable():
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    probe(ev, 'compute_gateway', False)
    v = run(ev)
    assert (v['cause'], v['segment']) == ('gateway_unreachable', 'compute_to_gateway')
    assert '203.0.113.1' in v['advice']


def test_forwarding_disabled():
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    ev['hosts']['mynode']['ip_forward'] = '0'
    for h in ev['capture']['hops'][3:]:
        h['request_seen'] = False
        h['reply_seen'] = False
    for h in ev['capture']['hops']:
        h['reply_seen'] = False
    v = run(ev)
    assert (v['cause'], v['segment']) == ('forwarding_disabled', 'compute')
    assert v['capture']['request_last_seen'] == '02-bridge'
    assert v['capture']['reply_last_seen'] is None
    assert 'sysctl -w net.ipv4.ip_forward=1' in v['advice']


def test_firewall_drop_confirmed_by_moved_counter():
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    rule = {'source': '10.0.2.24/32', 'target': 'DROP', 'packets': 3, 'bytes': 252, 'rule': '-A FORWARD -s 10.0.2.24/32 -j DROP'}
    ev['hosts']['mynode']['iptables']['tables']['filter']['chains']['FORWARD']['rules'].insert(0, rule)
    ev['capture']['moved_rules'] = [{'host': 'mynode', 'moved': [dict(rule, table='filter', chain='FORWARD', packets=2)]}]
    v = run(ev)
    assert (v['cause'], v['segment']) == ('firewall_drop', 'compute')
    assert v['evidence'][0]['excerpt'] == 'filter: -A FORWARD -s 10.0.2.24/32 -j DROP (+2 packets during the probes)'
    assert '`iptables -t filter -D FORWARD -s 10.0.2.24/32 -j DROP`' in v['advice']
    assert v['suspects'] == [{'cause': 'firewall_drop', 'rule': 'nova-network.firewall_drop', 'segment': 'compute', 'confirmed': True}]


def test_range_drop_rule_that_did_not_fire_is_not_a_cause():
    ev = healthy()
    rule = {'source': '10.0.0.0/8', 'target': 'DROP', 'packets': 0}
    ev['hosts']['mynode']['iptables']['tables']['filter']['chains']['FORWARD']['rules'].append(rule)
    v = run(ev)
    assert v['status'] == 'ok'


def test_nat_missing():
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    nat = ev['hosts']['mynode']['iptables']['tables']['nat']['chains']
    nat['nova-network-PREROUTING']['rules'] = []
    nat['nova-network-float-snat']['rules'] = []
    v = run(ev)
    assert (v['cause'], v['segment']) == ('nat_missing', 'compute')
    assert 'DNAT 203.0.113.30 -> 10.0.2.24' in v['evidence'][0]['excerpt']


def test_nat_present_with_raw_rules_and_list_tables():
    ev = healthy()
    ev['hosts']['mynode']['iptables'] = {'tables': [
        {'name': 'nat', 'chains': [
            {'name': 'nova-network-PREROUTING', 'rules': [{'raw': '-A nova-network-PREROUTING -d 203.0.113.30/32 -j DNAT --to-destination 10.0.2.24',
                                                           'destination': '203.0.113.30/32', 'target': 'DNAT',
                                                           'target_args': ['--to-destination', '10.0.2.24']}]},
            {'name': 'nova-network-float-snat', 'rules': [{'source': '10.0.2.24/32', 'target': 'SNAT',
                                                           'target_args': {'to-source': '203.0.113.30'}}]}]}]}
    assert run(ev)['status'] == 'ok'
    ev['hosts']['mynode']['iptables']['tables'][0]['chains'][1]['rules'] = []
    v = run(ev)
    assert v['cause'] == 'nat_missing'
    assert 'SNAT 10.0.2.24 -> 203.0.113.30' in v['evidence'][0]['excerpt']


def test_dhcp_server_down_even_while_the_lease_still_holds():
    ev = healthy()
    dm = ev['hosts']['mynode']['dnsmasq']
    dm['processes'] = []
    dm['pid_files'] = [{'path': '/var/lib/nova/networks/nova-br100.pid', 'pid': 2438, 'alive': False}]
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dhcp_server_down', 'compute')
    assert 'nova-br100.pid' in v['advice'] and 'Never `killall dnsmasq`' in v['advice']


def test_dhcp_no_address_available_when_mac_missing_from_hostsfile():
    ev = healthy()
    p = ev['hosts']['mynode']['dnsmasq']['processes'][0]
    p['hostsfile']['entries'] = p['hostsfile']['entries'][1:]
    ev['hosts']['mynode']['dnsmasq']['dhcp_by_mac'][MAC] = {'result': 'no_address_available', 'events': [
        'Feb 27 22:01:36 mynode dnsmasq-dhcp[25435]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f no address available']}
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dhcp_no_address_available', 'control_plane')
    assert 'kill -HUP $(cat /var/lib/nova/networks/nova-br100.pid)' in v['advice']
    assert any('no address available' in e['excerpt'] for e in v['evidence'])


def _guest_without_address(ev):
    iface(ev, 'guest-test', 'eth0')['addresses'] = []
    ev['hosts']['mynode']['console_log'] = {'lease_obtained': False, 'no_lease': True, 'evidence': [
        'udhcpc (v1.17.2) started', 'Sending discover...', 'No lease, forking to background']}
    _fail_pings(ev)


def test_dhcp_request_not_seen():
    ev = healthy()
    _guest_without_address(ev)
    ev['hosts']['mynode']['dnsmasq']['dhcp_by_mac'] = {}
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dhcp_request_not_seen', 'instance_to_compute')
    assert any('No lease' in e['excerpt'] for e in v['evidence'])


def test_dhcp_reply_lost():
    ev = healthy()
    _guest_without_address(ev)
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dhcp_reply_lost', 'instance_to_compute')
    assert any('DHCPACK(br100)' in e['excerpt'] for e in v['evidence'])


def test_link_fault_beats_dhcp_symptom():
    ev = healthy()
    _guest_without_address(ev)
    iface(ev, 'mynode', 'vnet1')['flags'] = ['BROADCAST', 'MULTICAST']
    v = run(ev)
    assert v['cause'] == 'vnet_down'
    assert 'dhcp_reply_lost' in [s['cause'] for s in v['suspects']]


def test_dns_failure_and_reverse_slow():
    ev = healthy()
    ev['dns'] = [{'query_type': 'A', 'query': 'example.org', 'server': '10.0.2.1', 'status': 'timeout', 'from_host': 'guest-test'}]
    v = run(ev)
    # dnsmasq of br100 runs: it is its upstream that does not answer
    assert (v['cause'], v['segment']) == ('dns_failure', 'beyond_gateway')
    assert 'upstream' in v['advice']
    ev['hosts']['mynode']['dnsmasq']['processes'] = []
    ev['dns'][0]['status'] = 'unreachable'
    v = run(ev)
    assert 'dns_failure' in [s['cause'] for s in v['suspects']]
    assert v['cause'] == 'dhcp_server_down'
    ev = healthy()
    ev['dns'] = [{'query_type': 'A', 'query': 'example.org', 'server': '10.0.2.1', 'status': 'ok', 'latency_ms': 3},
                 {'query_type': 'PTR', 'query': '24.2.0.10.in-addr.arpa', 'server': '10.0.2.1', 'status': 'slow', 'latency_ms': 5004}]
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dns_reverse_slow', 'compute')
    assert '5004 ms' in v['evidence'][0]['excerpt']


def _console_dns_failed(ev):
    # console_log_info's name_resolution of tests/unit/fixtures/console/python_name_resolution_timeout.log
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _console
    fixture = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'console', 'python_name_resolution_timeout.log')
    info, dummy = _console.analyse_file(fixture)
    ev['hosts']['mynode']['console_log']['name_resolution'] = info['name_resolution']


def test_reverse_timeout_with_failed_lookups_in_the_console_is_dns_failure():
    ev = healthy()
    _console_dns_failed(ev)
    ev['dns'] = [{'query_type': 'PTR', 'query': '10.100.51.198.in-addr.arpa', 'server': '10.0.2.1', 'status': 'timeout',
                  'from_host': 'guest-test'}]
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dns_failure', 'beyond_gateway')
    console = [e for e in v['evidence'] if e['source'] == 'console_log_info']
    assert len(console) == 1 and 'Temporary failure in name resolution' in console[0]['excerpt']
    # without the console's failures a PTR timeout is only slow reverse DNS
    ev['hosts']['mynode']['console_log'].pop('name_resolution')
    assert run(ev)['cause'] == 'dns_reverse_slow'


def test_console_failures_but_lookups_work_now_is_a_note():
    ev = healthy()
    _console_dns_failed(ev)
    ev['dns'] = [{'query_type': 'A', 'query': 'mirror.example.org', 'server': '10.0.2.1', 'status': 'ok', 'latency_ms': 2}]
    v = run(ev)
    assert v['status'] == 'ok'
    assert any('name resolution failed in the console log' in n for n in v['notes']), v['notes']


def test_floating_ip_stale_on_terminated_instance():
    ev = healthy()
    ev['instance'].update(vm_state='deleted', deleted=7)
    ev['probes'] = []
    ev['capture'] = {}
    v = run(ev)
    assert (v['cause'], v['segment']) == ('floating_ip_stale', 'control_plane')
    assert 'repair_floating_ip.yml' in v['advice'] and FLOAT in v['advice']


def test_unrelated_audit_finding_is_a_note_not_a_fault():
    ev = healthy()
    ev['audit'] = [{'code': 'floating_ip_stale', 'message': 'floating IP 203.0.113.99 still on deleted instance x',
                    'rows': {'floating_ips': [{'address': '203.0.113.99'}]}}]
    v = run(ev)
    assert v['status'] == 'ok'
    assert any('203.0.113.99' in n for n in v['notes'])


def test_unknown_keeps_the_ladder_segment_and_all_evidence():
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    v = run(ev)
    assert (v['status'], v['cause'], v['segment']) == ('fault', 'unknown', 'beyond_gateway')
    assert any(e['source'] == 'ping_probe' and 'FAILED' in e['excerpt'] for e in v['evidence'])
    ev = healthy()
    _fail_pings(ev)
    v = run(ev)
    assert (v['cause'], v['segment']) == ('unknown', 'instance_to_compute')


def test_second_instance_reachable_points_at_compute_firewall():
    ev = healthy()
    _fail_pings(ev)
    probe(ev, 'guest_second_instance', True)
    v = run(ev)
    assert (v['cause'], v['segment']) == ('unknown', 'compute')
    assert 'firewall' in v['advice']
    rule = {'source': '10.0.2.24', 'target': 'REJECT', 'packets': 9}
    ev['hosts']['mynode']['iptables']['tables']['filter']['chains']['INPUT'] = {'rules': [rule]}
    v = run(ev)
    assert (v['cause'], v['segment']) == ('firewall_drop', 'compute')


def test_probes_from_compute_and_external_when_guest_unreachable():
    ev = healthy()
    ev['guest_host'] = None
    ev['probes'] = [{'step': 'compute_fixed_ip', 'from_host': 'mynode', 'probes': [{'target': FIXED, 'sent': 2, 'received': 2}]},
                    {'step': 'external_floating_ip', 'from_host': 'outside', 'probes': [{'target': FLOAT, 'sent': 2, 'received': 2}]}]
    lad = _verdict.ladder(ev['probes'])
    assert lad['external_ok'] is True and lad['compute_ok'] is True
    assert run(ev)['status'] == 'ok'
    ev['probes'][1]['probes'][0]['received'] = 0
    lad = _verdict.ladder(ev['probes'])
    assert lad['external_ok'] is False and lad['ladder_segment'] == 'compute_to_gateway'


def test_interfaces_by_name_accepts_namespaced_dicts():
    nested = {'default': [{'name': 'eth0', 'flags': ['UP']}], 'qrouter-x': [{'name': 'eth0', 'flags': []}, {'name': 'qr-1'}]}
    m = _verdict.interfaces_by_name(nested)
    assert m['eth0']['flags'] == ['UP'] and 'qr-1' in m
    assert _verdict.interfaces_by_name({'eth0': {'flags': ['UP']}})['eth0']['flags'] == ['UP']


def test_every_cause_has_a_segment_and_a_priority():
    for c in _verdict.CAUSES:
        if c in ('none', 'unknown'):
            continue
        assert _verdict.CAUSE_SEGMENT[c] in _verdict.SEGMENTS
        assert c in _verdict.PRIORITY


# `ip netns exec <lab>-compute1 cat /proc/sys/net/ipv4/ip_forward /proc/net/route` on the seed lab
PROC_ROUTE = (
    "1\n"
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t017100CB\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "br100\t0000000A\t00000000\t0001\t0\t0\t0\t00FCFFFF\t0\t0\t0\n"
    "eth0\t007100CB\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)


def test_proc_net_route_text():
    routes = _verdict.parse_proc_route(PROC_ROUTE)
    assert routes == [{'dst': 'default', 'dev': 'eth0', 'metric': 0, 'gateway': '203.0.113.1'},
                      {'dst': '10.0.0.0/22', 'dev': 'br100', 'metric': 0},
                      {'dst': '203.0.113.0/24', 'dev': 'eth0', 'metric': 0}]
    assert _verdict.default_route(PROC_ROUTE) == ('203.0.113.1', 'eth0')
    assert _verdict.default_route(PROC_ROUTE.split('eth0\t00000000', maxsplit=1)[0]) == (None, None)
    assert _verdict.parse_proc_route('garbage\nIface Destination Gateway\nx y z 1 2 3 4 5') == []


def test_dns_capture_shows_where_the_lookup_vanished():
    ev = healthy()
    ev['dns'] = [{'type': 'A', 'query': 'www.example.org', 'server': '10.0.2.1', 'status': 'timeout', 'from_host': 'guest-test'}]
    ev['dns_capture'] = {'hops': [{'hop': '02-bridge', 'host': 'mynode', 'interface': 'br100', 'request_seen': 1, 'reply_seen': 0},
                                  {'hop': '04-physical', 'host': 'mynode', 'interface': 'eth0', 'request_seen': 1, 'reply_seen': 0}],
                         'verdict': 'request reached 04-physical but no reply was seen anywhere'}
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dns_failure', 'beyond_gateway')
    cap = [e for e in v['evidence'] if e['source'] == 'path_capture udp/53']
    assert cap and cap[0]['excerpt'].splitlines() == [
        '02-bridge mynode:br100 query seen, answer not seen', '04-physical mynode:eth0 query seen, answer not seen',
        'request reached 04-physical but no reply was seen anywhere']
    ev['dns_capture'] = {'error': 'The captures were launched too slowly'}
    assert 'DNS capture not available: The captures were launched too slowly' in run(ev)['notes']


def _persistent_xml(ev):
    # libvirt leaves its generated vnetN names out of the persistent definition (/etc/libvirt/qemu)
    for d in ev['hosts']['mynode']['domains']:
        for i in d['interfaces']:
            i.pop('target_dev')


def test_vnet_found_by_its_tap_mac_when_the_xml_names_none():
    ev = healthy()
    _persistent_xml(ev)
    hops = with_hops(ev)['hops']
    vnet = [h for h in hops if h['kind'] == 'vnet'][0]
    assert vnet['interface'] == 'vnet1'
    assert any('fe:16:3e:56:0b:6f' in n for n in vnet['notes'])
    # the other domain's tap is recognised too: no instance tap is taken for the bridge uplink
    assert [h['interface'] for h in hops if h['kind'] == 'uplink'] == ['eth1']
    iface(ev, 'mynode', 'vnet1')['flags'] = ['BROADCAST', 'MULTICAST']
    assert run(ev)['cause'] == 'vnet_down'


def test_tap_gone_without_target_dev_is_vnet_missing():
    ev = healthy()
    _persistent_xml(ev)
    ev['hosts']['mynode']['interfaces'] = [i for i in ev['hosts']['mynode']['interfaces'] if i['name'] != 'vnet1']
    for b in ev['hosts']['mynode']['bridges']:
        b['ports'] = [p for p in b['ports'] if p['name'] != 'vnet1']
    v = run(ev)
    assert (v['cause'], v['segment']) == ('vnet_missing', 'instance_to_compute'), v['summary']
    assert 'fe:16:3e:56:0b:6f' in v['evidence'][1]['excerpt']


def test_mtu_mismatch_along_the_l2_path_is_a_note():
    ev = healthy()
    v = run(ev)
    assert not [n for n in v['notes'] if 'MTU' in n]
    iface(ev, 'mynode', 'eth1')['mtu'] = 1450
    v = run(ev)
    (note,) = [n for n in v['notes'] if 'MTU' in n]
    assert 'eth1 1450' in note and 'vnet1 1500' in note and 'larger than 1450 bytes' in note
    assert v['status'] == 'ok'


def test_place_of_stack_causes_is_the_host_whose_evidence_names_them():
    # forwarding off on the compute node: its stack, after its bridge (the instance's side), not an interface
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    ev['hosts']['mynode']['ip_forward'] = '0'
    v = run(ev)
    assert v['place'] == {'kind': 'stack', 'label': 'IP forwarding', 'host': 'mynode', 'hop': None, 'after': '02-bridge',
                          'hops': [], 'object': '0'}
    # a DROP that fired on another host of the path (here the external probe host): that host's stack
    ev = healthy()
    _fail_pings(ev, compute_ok=True)
    ev['capture']['moved_rules'] = [{'host': 'outside', 'moved': [
        {'table': 'filter', 'chain': 'INPUT', 'target': 'DROP', 'packets_delta': 2, 'rule': '-A INPUT -j DROP'}]}]
    v = run(ev)
    assert v['cause'] == 'firewall_drop'
    assert (v['place']['host'], v['place']['after']) == ('outside', '06-external')
    # no fault, no place
    assert run(healthy())['place'] is None


def test_place_of_an_upstream_dns_failure_is_beyond_the_gateway():
    ev = healthy()
    ev['dns'] = [{'query': 'www.example.org', 'query_type': 'A', 'server': '10.0.2.1', 'status': 'timeout',
                  'from_host': 'guest-test'}]
    v = run(ev)
    assert (v['cause'], v['segment']) == ('dns_failure', 'beyond_gateway')
    assert (v['place']['kind'], v['place']['after'], v['place']['host']) == ('stack', '05-gateway', None)
