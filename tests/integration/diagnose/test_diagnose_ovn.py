# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""diagnose_instance.yml on the OVN lab: each real fault (lab/ovn_faults.py, raw commands) first breaks what it breaks on
the data plane (small and full-size DF pings through the real chassis and tunnels) and shows in the facts modules that
can see it; then the playbook recognises Neutron and ML2/OVN by itself, runs the facts modules and names the fault's
cause; heal restores the path. The healthy lab gives none and is left as it was. test_ovn_healthy_is_none runs the
modules by hand, checks that none of them reports a problem and the evidence the rules read (_model_ovn.evidence)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _model_ovn
from lab import Lab

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'facts_net'))
from facts_net_helpers import run_module  # noqa: E402  pylint: disable=wrong-import-position,import-error
from diagnose_lab_helpers import run_diagnose, snapshot  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.skipif(shutil.which('ovn-controller') is None, reason='OVN is not installed')

# fault -> (its cause, small pings vm1 -> vm2 pass, 1414-byte DF pings pass, what a facts module names: (module, code))
FAULTS = {
    'ovn_binding_failed': ('port_binding_failed', True, True, ('neutron_db_info', 'binding_failed')),
    'ovn_port_missing': ('ovn_port_missing', False, False, ('neutron_db_info', 'port_missing_in_ovn')),
    'ovn_controller_dead': ('ovn_controller_down', True, True, ('ovs_info', 'ovn_controller_down')),
    'ovn_port_unbound': ('port_not_bound', False, False, ('ovn_info', 'port_not_bound')),
    'ovn_tap_down': ('tap_down', False, False, ('ovs_info', 'vm_port_down')),
    'ovn_port_disabled': ('port_disabled', False, False, ('ovn_info', 'port_disabled')),
    'ovn_tunnel_down': ('tunnel_endpoint_down', False, False, None),
    'ovn_mtu_underlay': ('underlay_mtu_too_small', True, False, None),
    'ovn_acl_drop': ('acl_drop', False, False, None),
    # the port group's ingress ACLs gone from OVN, the rules still in Neutron: vm2 drops vm1's pings too (same group)
    'ovn_sg_acls_missing': ('sg_rule_missing_in_ovn', False, False, ('neutron_db_info', 'sg_rule_missing_in_ovn')),
    'ovn_dhcp_options_missing': ('dhcp_options_missing', False, False, ('neutron_db_info', 'dhcp_options_missing')),
    'ovn_fip_nat_missing': ('floating_ip_nat_missing', True, True, ('neutron_db_info', 'floating_ip_nat_missing')),
    'ovn_brex_uplink_down': ('provider_uplink_down', True, True, None),
    'ovn_stale_fip': ('floating_ip_stale', True, True, ('neutron_db_info', 'floating_ip_stale')),
    # pings pass; the instance's metadata requests are refused in ovnmeta-<network id> (checked below)
    'ovn_metadata_proxy_dead': ('metadata_proxy_down', True, True, None),
}
# the OVN path of vm1: its NIC, its tap, the logical switch, the tunnel endpoint, its router's gateway on the gateway
# chassis, that chassis' provider uplink
HOPS = ['guest_nic', 'tap', 'logical_switch', 'tunnel', 'router_gateway', 'uplink']


@pytest.fixture
def lab(ovn_lab):
    """The session's OVN lab (tests/integration/conftest.py)."""
    return ovn_lab


def _ping(lab, src, dst, size):
    return subprocess.Popen(['ip', 'netns', 'exec', lab.ns(src), 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', str(size),
                             dst], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _reachable(lab, inst, peer):
    return _ping(lab, inst, peer, 1414).wait(timeout=10) == 0


def _paths(lab):
    """(small pings vm1 -> vm2 pass, 1414-byte pings that may not be fragmented pass), pinged at the same time."""
    vm2 = lab.model['instances']['vm2']['fixed_ip']
    procs = [_ping(lab, 'vm1', vm2, 56), _ping(lab, 'vm1', vm2, 1414)]
    return tuple(p.wait(timeout=10) == 0 for p in procs)


def _settle(lab, want, wait=12):
    """The paths once they show ``want``, or after ``wait`` seconds (a loaded two-core machine: ovn-northd, the SB DB
    and both ovn-controllers reprogram flows after a change)."""
    deadline = time.monotonic() + wait
    got = _paths(lab)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.3)
        got = _paths(lab)
    return got


def _codes(lab, module):
    """The problem codes the facts module ``module`` reports on the lab (ovs_info run inside compute1's namespace, where
    it finds the node's daemons; the others by library call)."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _neutrondb, _novadb, _ovn
    central = lab.root + '/ovn-central'
    if module == 'ovs_info':
        rc, res = run_module('ovs_info', {'db': 'unix:%s/db.sock' % lab.hostdir('compute1', 'ovs')},
                             prefix=['ip', 'netns', 'exec', lab.ns('compute1')])
        assert rc == 0, res
        return [p['code'] for p in res['problems']]
    nb = _ovn.read_nb('unix:%s/nb.sock' % central)
    if module == 'ovn_info':
        return [p['code'] for p in _ovn.problems(nb, _ovn.read_sb('unix:%s/sb.sock' % central))]
    conn = _novadb.connect(dict(lab.state['db']['conn_params']), service='neutron')
    try:
        return [f['code'] for f in _neutrondb.audit(conn, ovn_nb=nb)]
    finally:
        conn.close()


def verdict(lab, hostname):
    """Run the facts modules as an operator's playbook would, and evaluate the OVN rules."""
    inst = lab.model['instances'][hostname]
    compute = inst['host']
    ns = ['ip', 'netns', 'exec', lab.ns(compute)]
    central = lab.root + '/ovn-central'
    db = {k: v for k, v in lab.state['db']['conn_params'].items() if k != 'login_unix_socket'}
    rc, ovs = run_module('ovs_info', {'db': 'unix:%s/db.sock' % lab.hostdir(compute, 'ovs')}, prefix=ns)
    assert rc == 0, ovs
    rc, ifs = run_module('interface_info', {}, prefix=ns)
    assert rc == 0, ifs
    rc, ovn = run_module('ovn_info', {'nb_db': 'unix:%s/nb.sock' % central, 'sb_db': 'unix:%s/sb.sock' % central})
    assert rc == 0, ovn
    rc, neu = run_module('neutron_db_info', dict(db, device_id=inst['uuid']))
    assert rc == 0, neu
    rc, aud = run_module('neutron_db_info', dict(db, audit=True, ovn_nb_db='unix:%s/nb.sock' % central))
    assert rc == 0, aud
    peer = next(i for n, i in lab.model['instances'].items() if n != hostname)['fixed_ip']
    symptom = None if _reachable(lab, hostname, peer) else 'unreachable'
    ev = _model_ovn.evidence({'uuid': inst['uuid'], 'hostname': hostname}, compute, interfaces=ifs['interfaces'], ovs=ovs['ovs'],
                             nb=ovn['nb'], sb=ovn['sb'], neutron_ports=neu['ports'], neutron_audit=aud['audit'], symptom=symptom)
    return _engine.evaluate(ev), ev


def test_every_fault_is_tested():
    from lab.ovn_faults import FAULTS as LAB_FAULTS
    assert set(FAULTS) == set(LAB_FAULTS) and len(FAULTS) >= 10


def test_ovn_healthy_is_none(lab):
    assert lab.status()['healthy'] and _paths(lab) == (True, True)
    assert all(Lab._metadata_request(lab.ns(vm))[0] for vm in ('vm1', 'vm2'))    # pylint: disable=protected-access
    for module in ('ovs_info', 'ovn_info', 'neutron_db_info'):
        assert _codes(lab, module) == [], module
    v, ev = verdict(lab, 'vm1')
    assert (v['status'], v['cause']) == ('ok', 'none'), v
    kinds = [h['kind'] for h in ev['hops']]
    assert kinds == ['guest_nic', 'tap', 'logical_switch', 'tunnel']
    inst = lab.model['instances']['vm1']
    assert ev['hops'][1]['interface'] == inst['tap'] and ev['hops'][3]['interface'] == 'br-phy'


@pytest.mark.parametrize('fault', sorted(FAULTS))
def test_ovn_fault_names_its_cause(lab, fault, tmp_path):
    cause, small, big, seen = FAULTS[fault]
    # from a working path (the chassis reprogram their flows after the previous test's heal)
    _settle(lab, (True, True))
    rec = lab.fault(fault, 'vm1')
    try:
        assert rec['host'] == 'compute1' and lab.fault(fault, 'vm1') == rec      # idempotent
        # the switch reconfigures a port whose MTU or state changed: give the data plane time to show the fault
        assert _settle(lab, (small, big)) == (small, big)
        if small:
            # the instance's metadata, over the localport to ovnmeta-<network id> on its own chassis: refused only when
            # the proxy is dead
            ok, text = Lab._metadata_request(lab.ns('vm1'))      # pylint: disable=protected-access
            assert ok is (fault != 'ovn_metadata_proxy_dead') and (ok or 'refused' in text), text
        if seen:
            module, code = seen
            deadline = time.monotonic() + 5
            while code not in _codes(lab, module) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert code in _codes(lab, module)
        # diagnose_instance.yml, as an operator runs it: it finds a Neutron cloud and an OVN chassis by itself
        rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2'})
    finally:
        lab.heal()
    assert rc == 0 and report, out[-3000:]
    assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
    v = report['verdict']
    assert (v['status'], v['cause']) == ('fault', cause), v
    assert v['backend'] == 'ovn' and any(e['kind'] == 'cause' for e in v['evidence']) and v['advice']
    assert [h['kind'] for h in report['hops']] == HOPS
    assert lab.state['faults'] == []
    assert _settle(lab, (True, True)) == (True, True) and lab.status()['healthy']
    print('%s -> %s in %.1f s' % (fault, v['cause'], took))


def test_ovn_playbook_healthy_changes_nothing(lab, tmp_path):
    before = snapshot(lab)
    rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2'})
    assert rc == 0 and report, out[-3000:]
    assert 'Traceback' not in json.dumps(report) and 'Traceback' not in out
    assert (report['verdict']['status'], report['verdict']['cause']) == ('ok', 'none'), report['verdict']
    assert report['probes'] and all(p['ok'] is True for p in report['probes'])
    # the guest to its second instance and its gateway, the second instance back, the outside to the floating IP
    steps = {p['step'] for p in report['probes']}
    assert steps == {'guest_second_instance', 'guest_gateway', 'second_instance_to_instance', 'external_floating_ip'}
    assert [h['kind'] for h in report['hops']] == HOPS
    # every rule could be checked: the gateway chassis' facts and the traces were read
    assert report['verdict']['unchecked'] == []
    assert snapshot(lab) == before
    print('healthy in %.1f s' % took)
