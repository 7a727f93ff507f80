# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OVN lab's faults (lab/ovn_faults.py) are real: each breaks the instance's traffic the way the failure does (or
only the DB, for the DB faults), the facts modules see what they can see of it, and heal restores the path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from lab.ovn_faults import FAULTS

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(shutil.which('ovn-controller') is None, reason='OVN is not installed')]

# fault -> (small pings pass, 1414-byte DF pings pass, what the facts name: (module, code) or None)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXPECT = {
    'ovn_port_unbound': (False, False, ('ovn_info', 'port_not_bound')),
    'ovn_tap_down': (False, False, ('ovs_info', 'vm_port_down')),
    'ovn_port_disabled': (False, False, ('ovn_info', 'port_disabled')),
    'ovn_port_missing': (False, False, ('neutron_db_info', 'port_missing_in_ovn')),
    'ovn_dhcp_options_missing': (False, False, ('neutron_db_info', 'dhcp_options_missing')),
    'ovn_binding_failed': (True, True, ('neutron_db_info', 'binding_failed')),
    'ovn_acl_drop': (False, False, None),
    'ovn_tunnel_down': (False, False, None),
    'ovn_mtu_underlay': (True, False, None),
    'ovn_controller_dead': (True, True, ('ovs_info', 'ovn_controller_down')),
    'ovn_fip_nat_missing': (True, True, ('neutron_db_info', 'floating_ip_nat_missing')),
    'ovn_brex_uplink_down': (True, True, None),
    'ovn_stale_fip': (True, True, ('neutron_db_info', 'floating_ip_stale')),
}


@pytest.fixture
def lab(ovn_lab):
    """The session's OVN lab (tests/integration/conftest.py)."""
    return ovn_lab


def _ping(lab, size):
    vm2 = lab.model['instances']['vm2']
    return subprocess.run(['ip', 'netns', 'exec', lab.ns('vm1'), 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', str(size),
                           vm2['fixed_ip']], capture_output=True, check=False).returncode == 0


def _codes(lab, module):
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _neutrondb, _novadb, _ovn
    central = lab.root + '/ovn-central'
    if module == 'ovs_info':
        # the module itself, run inside the compute node's namespace (it looks for the node's daemons there)
        args = os.path.join(lab.root, 'ovs_info_args.json')
        with open(args, 'w', encoding='utf-8') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': {'db': 'unix:%s/db.sock' % lab.hostdir('compute1', 'ovs')}}, f)
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.venv', 'collections'))
        res = subprocess.run([lab.state['hosts']['compute1']['python'], os.path.join(REPO, 'plugins', 'modules', 'ovs_info.py'), args],
                             capture_output=True, text=True, env=env, check=False)
        return [p['code'] for p in json.loads(res.stdout[res.stdout.index('{'):])['problems']]
    nb = _ovn.read_nb('unix:%s/nb.sock' % central)
    if module == 'ovn_info':
        return [p['code'] for p in _ovn.problems(nb, _ovn.read_sb('unix:%s/sb.sock' % central))]
    conn = _novadb.connect(dict(lab.state['db']['conn_params']), service='neutron')
    try:
        return [f['code'] for f in _neutrondb.audit(conn, ovn_nb=nb)]
    finally:
        conn.close()


def test_every_fault_is_listed():
    assert set(EXPECT) == set(FAULTS)


@pytest.mark.parametrize('name', sorted(EXPECT))
def test_fault_breaks_is_seen_and_heals(lab, name):
    small, big, seen = EXPECT[name]
    assert _ping(lab, 56) and _ping(lab, 1414)
    rec = lab.fault(name, 'vm1')
    try:
        assert rec['host'] == 'compute1' and lab.fault(name, 'vm1') == rec     # idempotent
        time.sleep(0.5)
        assert (_ping(lab, 56), _ping(lab, 1414)) == (small, big)
        if seen:
            module, code = seen
            deadline = time.monotonic() + 5
            while code not in _codes(lab, module) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert code in _codes(lab, module)
    finally:
        lab.heal()
    assert lab.state['faults'] == []
    deadline = time.monotonic() + 5
    while not (_ping(lab, 56) and _ping(lab, 1414)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _ping(lab, 56) and _ping(lab, 1414)
    assert lab.status()['healthy']
    for module in ('ovs_info', 'ovn_info', 'neutron_db_info'):
        assert _codes(lab, module) == [], module
