# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-hop verdicts, built on the chapter's three transcripts and a real capture made here."""

from __future__ import annotations

import copy
import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _capture as cap
from ansible_collections.cloudops.netdiag.plugins.module_utils import _pathtrace as pt

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'capture')


def packets(name):
    with open(os.path.join(FIX, name), encoding='utf-8') as handle:
        return cap.annotate_duplicates(cap.parse_tcpdump(handle.read()))


def chapter_hops():
    return [
        {'host': 'instance', 'interface': 'any', 'packets': packets('chapter_instance.txt')},
        {'host': 'compute', 'interface': 'any', 'packets': packets('chapter_compute_node.txt')},
        {'host': 'external', 'interface': 'any', 'packets': packets('chapter_external_server.txt')},
    ]


def test_chapter_path_is_healthy_with_instance_request_not_shown():
    res = pt.analyze(chapter_hops(), {'type': 'icmp', 'icmp_id': 24895})
    table = {h['hop']: (h['request_seen'], h['reply_seen'], h['duplicates']) for h in res['hops']}
    assert table == {'instance:any': (0, 1, 0), 'compute:any': (3, 3, 2), 'external:any': (1, 1, 0)}
    assert res['healthy'] is True
    assert res['request']['gaps'] == ['instance:any'] and res['reply']['complete'] is True
    assert 'not captured at instance:any' in res['verdict']
    compute = res['hops'][1]
    # SNAT seen on the way out: the request leaves with the floating IP
    assert compute['request_addresses'] == ['10.0.2.24 > 1.2.3.4', '203.0.113.30 > 1.2.3.4']


def test_reply_lost_on_compute_node():
    hops = chapter_hops()
    hops[0]['packets'] = []
    hops[1]['packets'] = [p for p in hops[1]['packets'] if p['dst'] != '10.0.2.24']
    res = pt.analyze(hops, {'type': 'icmp', 'icmp_id': 24895})
    assert res['healthy'] is False
    assert res['reply']['vanished_between'] == ['compute:any', 'instance:any']
    assert res['verdict'].startswith('reply vanished between compute:any and instance:any')


def test_request_never_left_compute():
    hops = chapter_hops()
    hops[2]['packets'] = []
    res = pt.analyze(hops, {'type': 'icmp'})
    assert res['request']['vanished_between'] == ['compute:any', 'external:any']
    assert res['verdict'].startswith('request vanished between compute:any and external:any')


def test_failed_capture_is_neither_a_drop_nor_healthy():
    hops = chapter_hops()
    hops[2] = dict(hops[2], packets=[], captured=False, error='interface eth9 does not exist')
    res = pt.analyze(hops, {'type': 'icmp', 'icmp_id': 24895})
    assert res['request']['vanished_between'] is None and res['request']['last_seen'] == 'compute:any'
    assert res['failed_captures'] == ['external:any'] and res['healthy'] is False
    assert res['verdict'].endswith('(no capture at external:any: interface eth9 does not exist)')


def test_report_maps_group_results_to_hops():
    pkts = packets('lab_compute_any_dhcp_icmp_dns.txt')
    hops = [{'host': 'compute', 'interface': 'vnet0'}, {'host': 'compute', 'interface': 'br100'},
            {'host': 'compute', 'interface': 'eth1'}, {'host': 'ext', 'interface': 'eth0'}]
    assert pt.capture_groups(hops) == [{'host': 'compute', 'netns': None, 'interfaces': ['vnet0', 'br100', 'eth1']},
                                       {'host': 'ext', 'netns': None, 'interfaces': ['eth0']}]
    results = [{'packets': pkts, 'started_at': 1.0, 'ended_at': 5.0, 'iptables_error': 'iptables-save was not found on the target host',
                'captures': [{'interface': 'vnet0', 'stopped_by': 'window_closed'}, {'interface': 'br100', 'stopped_by': 'count'},
                             {'interface': 'eth1', 'stopped_by': 'deadline'}]},
               {'failed': True, 'msg': 'tcpdump: eth0: No such device'}]
    moved = [{'item': [{'host': 'compute', 'netns': None}, {}], 'moved': [{'chain': 'FORWARD', 'target': 'DROP'}]},
             {'item': [{'host': 'ext', 'netns': None}, {}], 'skipped': True}]
    res = pt.report(results, hops, {'type': 'icmp', 'marker': '6e'}, moved=moved)
    assert res['probe']['icmp_id'] == 9683
    assert [(h['hop'], h['request_seen'], h['reply_seen'], h['captured']) for h in res['hops']] == [
        ('compute:vnet0', 1, 1, True), ('compute:br100', 1, 1, True), ('compute:eth1', 1, 1, True), ('ext:eth0', 0, 0, False)]
    assert res['moved_rules'] == [{'host': 'compute', 'netns': None, 'moved': [{'chain': 'FORWARD', 'target': 'DROP'}]}]
    assert res['window'] == {'opened': 1.0, 'closed': 5.0}
    assert [h['stopped_by'] for h in res['hops']] == ['window_closed', 'count', 'deadline', None]
    assert res['counter_errors'] == [{'host': 'compute', 'netns': None, 'error': 'iptables-save was not found on the target host'}]
    assert 'tcpdump: eth0: No such device' in res['verdict']


def test_report_a_down_interface_is_not_captured_not_a_drop():
    # the capture of a group ran, but its vnet was down (packet_capture's down_interfaces): that hop has no sighting,
    # which must not read as the request lost before it
    pkts = packets('lab_compute_any_dhcp_icmp_dns.txt')
    hops = [{'host': 'compute', 'interface': 'vnet0'}, {'host': 'compute', 'interface': 'br100'}]
    results = [{'packets': [p for p in pkts if p.get('interface') != 'vnet0'], 'down_interfaces': ['vnet0'],
                'captures': [{'interface': 'br100', 'stopped_by': 'count'}]}]
    res = pt.report(results, hops, {'type': 'icmp', 'marker': '6e'})
    assert [(h['hop'], h['captured']) for h in res['hops']] == [('compute:vnet0', False), ('compute:br100', True)]
    assert res['failed_captures'] == ['compute:vnet0']
    assert 'interface vnet0 is down: not captured' in res['verdict']
    up = pt.report([dict(results[0], down_interfaces=[])], hops, {'type': 'icmp', 'marker': '6e'})
    assert up['failed_captures'] == []


def test_moved_rules_from_collected_captures():
    # what the role passes since the captures read the counters themselves: the collected capture results, one per
    # capture group, with their iptables_moved (None where the counters could not be read, [] where nothing moved)
    drop = {'table': 'filter', 'chain': 'FORWARD', 'target': 'DROP', 'packets': 1, 'drop': True}
    hops = [{'host': 'compute1', 'interface': 'vnet0'}, {'host': 'vm1', 'interface': 'eth0'},
            {'host': 'gw', 'netns': 'gw', 'interface': 'eth0'}]
    results = [
        {'finished': 1, 'packets': [], 'iptables_moved': [drop], 'iptables_error': None},
        {'finished': 1, 'packets': [], 'iptables_moved': None, 'iptables_error': 'iptables-save was not found on the target host'},
        {'finished': 1, 'packets': [], 'iptables_moved': []},
    ]
    res = pt.report(results, hops, {'type': 'icmp', 'marker': '6e'})
    assert res['moved_rules'] == [{'host': 'compute1', 'netns': None, 'moved': [drop]}]


def test_nothing_seen():
    hops = [dict(h, packets=[]) for h in chapter_hops()]
    res = pt.analyze(hops, {'type': 'icmp'})
    assert res['request']['never_seen'] and res['verdict'].startswith('request never seen')
    assert res['healthy'] is False


def test_other_icmp_id_is_not_our_probe():
    res = pt.analyze(chapter_hops(), {'type': 'icmp', 'icmp_id': 1})
    assert all(h['request_seen'] == 0 and h['reply_seen'] == 0 for h in res['hops'])


def test_dhcp_and_dns_on_real_capture_per_interface():
    pkts = packets('lab_compute_any_dhcp_icmp_dns.txt')
    hops = [{'host': 'compute', 'interface': 'vnet0', 'packets': pkts},
            {'host': 'compute', 'interface': 'br100', 'packets': pkts}]
    res = pt.analyze(hops, {'type': 'dhcp', 'mac': 'FA:16:3E:00:00:24'})
    assert [(h['request_seen'], h['reply_seen']) for h in res['hops']] == [(2, 2), (2, 2)]
    assert res['healthy'] is True and res['verdict'] == 'request and reply seen end to end'
    res = pt.analyze(hops, {'type': 'dhcp', 'mac': '02:00:00:00:00:01'})
    assert res['request']['never_seen']
    # A and AAAA queries for the name; the AAAA answer is REFUSED (no records) yet paired by DNS id
    res = pt.analyze(hops, {'type': 'dns', 'qname': 'openstack.test.'})
    assert [(h['request_seen'], h['reply_seen']) for h in res['hops']] == [(2, 2), (2, 2)]
    res = pt.analyze(hops, {'type': 'dns', 'qname': '24.2.0.10.in-addr.arpa.'})
    assert [(h['request_seen'], h['reply_seen']) for h in res['hops']] == [(1, 1), (1, 1)]


def test_input_not_mutated_and_bad_kind():
    hops = chapter_hops()
    before = copy.deepcopy(hops)
    pt.analyze(hops, {'type': 'icmp'})
    assert hops == before
    with pytest.raises(ValueError):
        pt.analyze(hops, {'type': 'arp'})


def test_bpf_filters():
    assert pt.bpf_filter({'type': 'icmp', 'marker': '6e'}).endswith('and icmp[24] = 0x6e')
    assert pt.bpf_filter({'type': 'dhcp'}) == 'udp and (port 67 or port 68)'
    assert pt.bpf_filter({'type': 'dns'}) == 'udp port 53'


def test_learn_icmp_id():
    assert pt.learn_icmp_id(packets('chapter_compute_node.txt'), '10.0.2.24') == 24895
    assert pt.learn_icmp_id(packets('chapter_instance.txt')) is None
