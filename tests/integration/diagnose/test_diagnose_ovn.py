# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""diagnose_instance.yml on the OVN lab: for each real fault it recognises Neutron and ML2/OVN by itself, runs the facts
modules and names the fault's cause; the healthy lab gives none and is left as it was. test_ovn_healthy_is_none runs the
modules by hand and checks the evidence the rules read (_model_ovn.evidence)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _model_ovn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'facts_net'))
from facts_net_helpers import run_module  # noqa: E402  pylint: disable=wrong-import-position,import-error
from diagnose_lab_helpers import run_diagnose, snapshot  # noqa: E402  pylint: disable=wrong-import-position,import-error

pytestmark = pytest.mark.skipif(shutil.which('ovn-controller') is None, reason='OVN is not installed')

CAUSES = {
    'ovn_binding_failed': 'port_binding_failed',
    'ovn_port_missing': 'ovn_port_missing',
    'ovn_controller_dead': 'ovn_controller_down',
    'ovn_port_unbound': 'port_not_bound',
    'ovn_tap_down': 'tap_down',
    'ovn_port_disabled': 'port_disabled',
    'ovn_tunnel_down': 'tunnel_endpoint_down',
    'ovn_mtu_underlay': 'underlay_mtu_too_small',
    'ovn_acl_drop': 'acl_drop',
    'ovn_dhcp_options_missing': 'dhcp_options_missing',
    'ovn_fip_nat_missing': 'floating_ip_nat_missing',
    'ovn_brex_uplink_down': 'provider_uplink_down',
    'ovn_stale_fip': 'floating_ip_stale',
}
# the OVN path of vm1: its NIC, its tap, the logical switch, the tunnel endpoint, its router's gateway on the gateway
# chassis, that chassis' provider uplink
HOPS = ['guest_nic', 'tap', 'logical_switch', 'tunnel', 'router_gateway', 'uplink']


@pytest.fixture
def lab(ovn_lab):
    """The session's OVN lab (tests/integration/conftest.py)."""
    return ovn_lab


def _reachable(lab, inst, peer):
    return subprocess.run(['ip', 'netns', 'exec', lab.ns(inst), 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', '1414',
                           peer], capture_output=True, check=False).returncode == 0


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


def test_ovn_healthy_is_none(lab):
    v, ev = verdict(lab, 'vm1')
    assert (v['status'], v['cause']) == ('ok', 'none'), v
    kinds = [h['kind'] for h in ev['hops']]
    assert kinds == ['guest_nic', 'tap', 'logical_switch', 'tunnel']
    inst = lab.model['instances']['vm1']
    assert ev['hops'][1]['interface'] == inst['tap'] and ev['hops'][3]['interface'] == 'br-phy'


@pytest.mark.parametrize('fault', sorted(CAUSES))
def test_ovn_fault_names_its_cause(lab, fault, tmp_path):
    lab.fault(fault, 'vm1')
    try:
        time.sleep(0.5)
        # diagnose_instance.yml, as an operator runs it: it finds a Neutron cloud and an OVN chassis by itself
        rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2'})
    finally:
        lab.heal()
    assert rc == 0 and report, out[-3000:]
    v = report['verdict']
    assert (v['status'], v['cause']) == ('fault', CAUSES[fault]), v
    assert v['backend'] == 'ovn' and any(e['kind'] == 'cause' for e in v['evidence']) and v['advice']
    assert [h['kind'] for h in report['hops']] == HOPS
    print('%s -> %s in %.1f s' % (fault, v['cause'], took))


def test_ovn_playbook_healthy_changes_nothing(lab, tmp_path):
    before = snapshot(lab)
    rc, report, out, took = run_diagnose(lab, 'vm1', tmp_path, extra={'second_instance': 'vm2'})
    assert rc == 0 and report, out[-3000:]
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
