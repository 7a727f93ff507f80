# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""iptables_info against rules loaded into namespaces made here (nft and legacy), with real traffic.

Rules are only ever loaded inside the test's own namespaces (never the default namespace).
"""

from __future__ import annotations

import os

import pytest

from facts_net_helpers import REPO, run_module, sh  # pylint: disable=import-error

pytestmark = pytest.mark.lab

RULES = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'iptables', 'nova_ruleset.rules')


def load(ns, backend):
    with open(RULES, encoding='utf-8') as f:
        rules = f.read()
    import subprocess
    subprocess.run(['ip', 'netns', 'exec', ns, 'iptables-%s-restore' % backend], input=rules, text=True,
                   check=True, capture_output=True, timeout=30)
    return sum(1 for ln in rules.splitlines() if ln.startswith('-A '))


def ipt(args):
    rc, res = run_module('iptables_info', args)
    assert rc == 0 and not res.get('failed'), res
    return res


@pytest.mark.parametrize('backend', ['nft', 'legacy'])
def test_drop_that_fired_during_a_probe_is_named(compute, backend):
    c = compute['cn']
    n = load(c, backend)
    before = ipt({'netns': c, 'backend': backend})
    assert before['iptables']['backend'] == backend and before['iptables']['rule_count'] == n
    assert 'filter/nova-compute-inst-1' in before['summary']['nova_chains']
    # The blocked probe host pings the compute node: its ICMP hits the operator's DROP rule.
    sh('ping', '-c', '3', '-i', '0.2', '-W', '1', '10.0.2.1', ns=compute['inst2'], check=False)
    # The instance's pings are accepted and move no DROP counter.
    sh('ping', '-c', '2', '-i', '0.2', '-W', '1', '10.0.2.1', ns=compute['inst'])
    after = ipt({'netns': c, 'backend': backend, 'compare_to': before})
    drops = [m for m in after['moved'] if m['drop']]
    assert len(drops) == 1
    assert drops[0]['chain'] == 'ops-blocklist' and drops[0]['index'] == 1 and drops[0]['packets'] == 3
    assert drops[0]['rule'].startswith('-A ops-blocklist -s 10.0.2.66/32 -p icmp')
    moved_input = [m for m in after['moved'] if m['chain'] == 'INPUT' and m['index'] == 1]
    assert moved_input and moved_input[0]['packets'] >= 5
    # The same comparison from saved text works too (what an escalation would carry).
    saved = sh('iptables-%s-save' % backend, '-c', ns=c)
    again = ipt({'src': saved, 'compare_to': before['iptables'], 'table': ['filter']})
    assert [m['rule'] for m in again['moved'] if m['drop']] == [drops[0]['rule']]


def test_flow_and_nat_live(compute):
    c = compute['cn']
    load(c, 'nft')
    res = ipt({'netns': c, 'floating_ip': ['203.0.113.30'],
               'flow': {'src': '10.0.2.66', 'dst': '10.0.2.1', 'proto': 'icmp', 'in_iface': 'br100'}})
    assert res['flow_rules']['INPUT']['verdict'] == 'DROP'
    assert res['nat'][0]['fixed_addresses'] == ['10.0.2.24'] and len(res['nat'][0]['dnat']) == 2


def test_empty_namespace_is_empty_not_an_error(netns):
    n = netns('empty')
    res = ipt({'netns': n, 'backend': 'nft'})
    assert res['iptables']['tables'] == {} and res['iptables']['rule_count'] == 0


def test_legacy_tables_beside_nft_are_reported(compute):
    c = compute['cn']
    load(c, 'legacy')
    sh('iptables-nft', '-t', 'filter', '-N', 'x-nft', ns=c)
    res = ipt({'netns': c, 'backend': 'nft'})
    assert any('iptables-legacy tables present' in w for w in res['iptables']['warnings'])


def test_missing_namespace(compute):
    rc, res = run_module('iptables_info', {'netns': 'tfnx-gone'})
    assert rc == 1 and res['msg'] == 'cannot read iptables: network namespace tfnx-gone does not exist'


def test_missing_backend_binary(compute):
    # A private mount namespace where iptables-legacy-save is not executable (a backend not installed):
    # nothing outside this one process is affected.
    real = sh('readlink', '-f', '/usr/sbin/iptables-legacy-save').strip() or '/usr/sbin/iptables-legacy-save'
    prefix = ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
              'mount --bind /dev/null /usr/sbin/iptables-legacy-save && exec "$@"', 'x']
    rc, res = run_module('iptables_info', {'netns': compute['cn'], 'backend': 'legacy'}, prefix=prefix)
    assert rc == 1 and 'iptables-legacy-save' in res['msg']
    assert os.path.exists(real)   # untouched outside


def test_garbage_src_live_module():
    rc, res = run_module('iptables_info', {'src': 'Chain INPUT (policy ACCEPT)\ntarget prot opt source\n'})
    assert rc == 1 and res['msg'].startswith('cannot parse src as iptables-save output: line 1')
