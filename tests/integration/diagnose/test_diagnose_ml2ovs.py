# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""diagnose_instance.yml on the ML2/OVS lab: each real fault (lab/ml2ovs_faults.py, raw commands) first breaks what it
breaks on the data plane (pings through the real switches, tunnels, firewall and router), then the playbook recognises
Neutron and ML2/OVS by itself, reads the compute and network nodes and names the fault's cause; heal restores the
path. The healthy lab gives none and is left exactly as it was (links, addresses, routes, iptables, the switches'
configuration and flows, processes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from diagnose_lab_helpers import run_diagnose, snapshot  # pylint: disable=import-error

pytestmark = pytest.mark.skipif(shutil.which('ovs-vswitchd') is None, reason='Open vSwitch is not installed')

HOPS = ['guest_nic', 'tap', 'qbr', 'qvo', 'tunnel', 'router_interface', 'router_gateway', 'uplink']
# fault -> (its cause, what still passes: vm2 -> vm1, outside -> floating IP, vm1 -> vm2 with full-size DF frames)
FAULTS = {
    'ovs_binding_failed': ('port_binding_failed', (True, True, True)),
    'ovs_qvo_missing': ('ovs_port_missing', (False, False, False)),
    'ovs_vlan_tag_missing': ('local_vlan_tag_missing', (False, False, False)),
    'ovs_dead_vlan': ('dead_vlan', (False, False, False)),
    'ovs_qbr_detached': ('tap_not_in_qbr', (False, False, False)),
    'ovs_sg_drop': ('security_group_drop', (False, False, True)),
    'ovs_tunnel_down': ('tunnel_endpoint_down', (False, False, False)),
    'ovs_mtu_underlay': ('underlay_mtu_too_small', (True, True, False)),
    'ovs_tunnel_flow_missing': ('tunnel_flow_missing', (False, False, False)),
    # the floating IP is on the router's qg- port: without DNAT the router answers the ping itself
    'ovs_fip_nat_missing': ('floating_ip_nat_missing', (True, True, True)),
    'ovs_dhcp_dead': ('dhcp_agent_dnsmasq_down', (False, False, False)),
    'ovs_brex_uplink_down': ('provider_uplink_down', (True, False, True)),
    'ovs_stale_fip': ('floating_ip_stale', (True, False, True)),
    # pings pass; the instance's metadata requests are refused (checked in the lab test)
    'ovs_metadata_proxy_dead': ('metadata_proxy_down', (True, True, True)),
}


@pytest.fixture
def lab(ml2ovs_lab):
    """The session's ML2/OVS lab (tests/integration/conftest.py)."""
    return ml2ovs_lab


def _ping(lab, src, dst, size=56):
    return subprocess.Popen(['ip', 'netns', 'exec', lab.ns(src), 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', str(size),
                             dst], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _paths(lab):
    """(vm2 -> vm1, outside -> vm1's floating IP, vm1 -> vm2 with full-size frames that may not be fragmented), pinged
    at the same time."""
    vm1, vm2 = lab.model['instances']['vm1'], lab.model['instances']['vm2']
    mtu = lab.model['networks']['private']['mtu']
    procs = [_ping(lab, 'vm2', vm1['fixed_ip']), _ping(lab, 'external', vm1['floating_ip']), _ping(lab, 'vm1', vm2['fixed_ip'], size=mtu - 28)]
    return tuple(p.wait(timeout=10) == 0 for p in procs)


def test_every_fault_is_tested():
    from lab.ml2ovs_faults import FAULTS as LAB_FAULTS
    assert set(FAULTS) == set(LAB_FAULTS) and len(FAULTS) >= 10


@pytest.mark.parametrize('fault', sorted(FAULTS))
def test_ml2ovs_fault_names_its_cause(lab, fault, tmp_path):
    cause, passes = FAULTS[fault]
    rec = lab.fault(fault, 'vm1')
    try:
        assert rec['host'] == 'compute1' and lab.fault(fault, 'vm1') == rec      # idempotent
        assert _paths(lab) == passes
        # diagnose_instance.yml, as an operator runs it: it finds a Neutron cloud and the openvswitch agent by itself
        rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2'})
    finally:
        lab.heal()
    assert rc == 0 and report, out[-3000:]
    assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
    v = report['verdict']
    assert (v['status'], v['cause'], v['backend']) == ('fault', cause, 'ml2ovs'), v
    assert any(e['kind'] == 'cause' for e in v['evidence']) and v['advice']
    assert [h['kind'] for h in report['hops']] == HOPS
    deadline = time.monotonic() + 5
    while _paths(lab) != (True, True, True) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _paths(lab) == (True, True, True)
    print('%s -> %s in %.1f s' % (fault, v['cause'], took))


def test_ml2ovs_playbook_healthy_changes_nothing(lab, tmp_path):
    before = snapshot(lab)
    assert before[lab.model['networks']['private']['qdhcp']]['links'] and before['compute1']['ovs']['flows']['br-tun']
    rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2'})
    assert rc == 0 and report, out[-3000:]
    assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
    v = report['verdict']
    assert (v['status'], v['cause'], v['backend']) == ('ok', 'none', 'ml2ovs'), v
    steps = {p['step']: p['ok'] for p in report['probes']}
    assert steps == {'guest_second_instance': True, 'guest_gateway': True, 'second_instance_to_instance': True,
                     'external_floating_ip': True}, report['probes']
    assert v['unchecked'] == []
    assert snapshot(lab) == before
    print('healthy in %.1f s' % took)


def test_ml2ovs_capture_locates_the_drop(lab, tmp_path):
    """With the capture asked for, the outside's marked ping to vm1's floating IP is captured on every hop of its path at
    once (br-ex's uplink and the router's qg-/qr- in qrouter-<router> on the network node, qvo, qbr and the tap on the
    compute node): the security group drops it between qbr (the iptables_hybrid bridge, where the request is seen) and
    the tap (where it is not)."""
    lab.fault('ovs_sg_drop', 'vm1')
    try:
        rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2', 'diagnose_capture': 'always'})
    finally:
        lab.heal()
    assert rc == 0 and report, out[-3000:]
    assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
    assert report['verdict']['cause'] == 'security_group_drop'
    seen = {h['kind']: (h.get('capture') or {}).get('request_seen') for h in report['hops']}
    assert seen == {'guest_nic': None, 'tap': False, 'qbr': True, 'qvo': True, 'tunnel': None, 'router_interface': True,
                    'router_gateway': True, 'uplink': True}, report['hops']
    assert any(e['kind'] == 'capture' for e in report['verdict']['evidence'])
    print('captured in %.1f s' % took)


def test_ml2ovs_all_in_one(lab_factory, tmp_path):
    """All in one (lab/topologies/ml2ovsaio.yml): vm2 runs on the controller, which is also its network node (the DHCP and
    L3 agents). The playbook reads that node once as the compute node and once for the agents' namespaces: healthy gives
    none with every rule checked, and the faults only the network node's facts show are named."""
    lab = lab_factory('ml2ovsaio')
    assert lab.model['instances']['vm2']['host'] == lab.model['network_node']
    rc, report, out, took = run_diagnose(lab, 'vm2', tmp_path, extra={'second_instance': 'vm1'})
    assert rc == 0 and report, out[-3000:]
    assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
    v = report['verdict']
    assert (v['status'], v['cause'], v['backend'], v['unchecked']) == ('ok', 'none', 'ml2ovs', []), v
    assert all(p['ok'] for p in report['probes']) and len(report['probes']) == 4, report['probes']
    for fault, cause in (('ovs_metadata_proxy_dead', 'metadata_proxy_down'), ('ovs_dhcp_dead', 'dhcp_agent_dnsmasq_down')):
        lab.fault(fault, 'vm2')
        try:
            rc, report, out, took = run_diagnose(lab, 'vm2', tmp_path, extra={'second_instance': 'vm1'})
        finally:
            lab.heal()
        assert rc == 0 and report, out[-3000:]
        assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
        assert (report['verdict']['status'], report['verdict']['cause']) == ('fault', cause), report['verdict']
