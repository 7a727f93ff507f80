# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_info (several facts modules in one run) and ping_probe's capture around its own probes, on real namespaces."""

from __future__ import annotations

import os
import time

import pytest


pytestmark = pytest.mark.lab

# what changes between two reads of the same host
_VOLATILE = ('changed', 'invocation', 'warnings')


def _plain(result):
    return {k: v for k, v in result.items() if k not in _VOLATILE}


def _without_counters(interfaces):
    return [{k: v for k, v in i.items() if k not in ('stats', 'counters')} for i in interfaces]


def test_host_info_sections_are_what_the_modules_return(probe_net):
    conf = os.path.join(probe_net.workdir, 'nova.conf')
    with open(conf, 'w') as f:
        f.write('[DEFAULT]\nnetwork_manager = nova.network.manager.FlatDHCPManager\nflat_network_bridge = br100\n')
    res = probe_net.run_module('host_info', {'netns': probe_net.cmp, 'interface_info': {}, 'iptables_info': {'table': ['nat']},
                                             'nova_conf_info': {'path': conf}, 'routing': True})
    assert not res.get('failed'), res.get('msg')
    assert res['failed_sections'] == [] and set(res['facts']) == {'interface_info', 'iptables_info', 'nova_conf_info', 'routing'}
    facts = res['facts']
    ipt = probe_net.run_module('iptables_info', {'netns': probe_net.cmp, 'table': ['nat']})
    ifs = probe_net.run_module('interface_info', {'netns': [probe_net.cmp]})
    nc = probe_net.run_module('nova_conf_info', {'path': conf})
    assert _plain(facts['iptables_info']) == _plain(ipt)
    assert 'SNAT' in {r['target'] for c in facts['iptables_info']['iptables']['tables']['nat']['chains'].values() for r in c['rules']}
    assert _without_counters(facts['interface_info']['interfaces']) == _without_counters(ifs['interfaces'])
    assert {'br100', 'vnet0', 'eth1'} <= {i['name'] for i in facts['interface_info']['interfaces']}
    assert _plain(facts['nova_conf_info']) == _plain(nc)
    # the namespace's own routing table (the compute namespace has 10.0.2.0/24 on br100), not the default namespace's
    ifaces = {line.split('\t')[0] for line in facts['routing']['route'].splitlines()[1:]}
    assert facts['routing']['ip_forward'] in ('0', '1') and {'br100', 'eth1'} <= ifaces
    assert all(v >= 0 for v in res['seconds'].values())


def test_host_info_a_failing_section_fails_alone(probe_net):
    res = probe_net.run_module('host_info', {'netns': probe_net.cmp, 'interface_info': {},
                                             'nova_conf_info': {'path': os.path.join(probe_net.workdir, 'absent.conf')},
                                             'iptables_info': {'backend': 'bogus'},
                                             'console_log_info': {}})
    assert not res.get('failed'), res.get('msg')
    facts = res['facts']
    assert res['failed_sections'] == ['console_log_info', 'iptables_info', 'nova_conf_info']
    assert 'absent.conf' in facts['nova_conf_info']['msg'] and 'No such file' in facts['nova_conf_info']['msg']
    assert facts['iptables_info']['msg'].startswith('iptables_info: ') and 'bogus' in facts['iptables_info']['msg']
    assert 'path' in facts['console_log_info']['msg'] and 'instance_uuid' in facts['console_log_info']['msg']
    assert facts['interface_info'].get('failed') is None and facts['interface_info']['interfaces']


def test_host_info_names_a_missing_namespace(probe_net):
    res = probe_net.run_module('host_info', {'netns': probe_net.prefix + '-gone', 'interface_info': {}})
    assert res.get('failed') and res['msg'] == 'network namespace %s-gone does not exist' % probe_net.prefix


def _ladder_with_capture(probe_net, targets, marked, interface, count, duration=3.0):
    marker = 'b4'
    start_at = time.time() + 0.8
    res = probe_net.run_module('ping_probe', {
        'netns': probe_net.cmp, 'flavor': 'busybox', 'targets': targets, 'count': 2, 'timeout': 1,
        'payload_pattern': marker, 'pattern_targets': marked, 'start_at': '%.3f' % start_at,
        'capture': {'interface': interface, 'filter': 'icmp and icmp[24] = 0x%s' % marker, 'count': count,
                    'duration': duration, 'snaplen': 256}})
    assert not res.get('failed'), res.get('msg')
    return res, start_at


def test_ping_probe_captures_its_marked_probes_and_closes_when_all_are_seen(probe_net):
    res, start_at = _ladder_with_capture(probe_net, ['10.0.2.24', '198.51.100.4'], ['10.0.2.24'], ['br100'], 4)
    assert [p['reachable'] for p in res['probes']] == [True, True]
    cap = res['capture']
    assert not cap.get('failed'), cap.get('msg')
    # listening before the probes fired; the two marked requests and their replies, nothing of the unmarked target
    assert cap['start_lag'] < 0
    pkts = cap['packets']
    assert len(pkts) == 4 and {p['interface'] for p in pkts} == {'br100'}
    assert sorted(p['icmp']['type'] for p in pkts) == ['echo-reply', 'echo-reply', 'echo-request', 'echo-request']
    assert {p['dst'] for p in pkts if p['icmp']['type'] == 'echo-request'} == {'10.0.2.24'}
    # every capture had its count: the window closed well before start_at + duration
    assert cap['captures'][0]['stopped_by'] == 'count' and cap['ended_at'] < start_at + 3.0


def test_ping_probe_capture_of_a_lost_probe_runs_to_its_deadline(probe_net):
    # 192.0.2.99 has no route from the compute node: the marked requests never leave, nothing reaches eth1
    res, start_at = _ladder_with_capture(probe_net, ['192.0.2.99'], None, ['br100', 'eth1'], 4, duration=1.5)
    assert res['probes'][0]['reachable'] is False
    cap = res['capture']
    assert cap['packets'] == [] and {c['stopped_by'] for c in cap['captures']} == {'deadline'}
    assert cap['ended_at'] >= start_at + 1.5


def test_ping_probe_still_probes_when_its_capture_cannot_open(probe_net):
    res, dummy = _ladder_with_capture(probe_net, ['10.0.2.24'], None, ['nosuch0'], 4)
    assert res['probes'][0]['reachable'] is True
    assert res['capture']['failed'] and 'nosuch0' in res['capture']['msg'] and 'does not exist' in res['capture']['msg']


def test_ping_probe_refuses_marked_targets_it_does_not_probe(probe_net):
    res = probe_net.run_module('ping_probe', {'netns': probe_net.cmp, 'targets': ['10.0.2.24'], 'payload_pattern': 'b4',
                                              'pattern_targets': ['10.0.2.99']})
    assert res.get('failed') and res['msg'] == 'pattern_targets 10.0.2.99 are not in targets'


def test_capture_names_a_down_interface_and_captures_the_others(probe_net):
    # a veth pair inside the compute namespace, one end left down (what the vnet_down lab fault does to a tap)
    probe_net.ns(probe_net.cmp, 'ip', 'link', 'add', 'ndtdown0', 'type', 'veth', 'peer', 'name', 'ndtdown1')
    try:
        res, dummy = _ladder_with_capture(probe_net, ['10.0.2.24'], None, ['ndtdown0', 'br100'], 4)
        cap = res['capture']
        assert not cap.get('failed'), cap.get('msg')
        assert cap['down_interfaces'] == ['ndtdown0'] and [c['interface'] for c in cap['captures']] == ['br100']
        assert len(cap['packets']) == 4
        alone = probe_net.run_module('packet_capture', {'netns': probe_net.cmp, 'interface': ['ndtdown0'], 'duration': 1})
        assert alone.get('failed') and alone['msg'] == 'cannot capture: ndtdown0 is down in namespace %s' % probe_net.cmp
    finally:
        probe_net.ns(probe_net.cmp, 'ip', 'link', 'del', 'ndtdown0')
