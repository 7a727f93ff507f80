# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/collect_network_facts.yml on the real lab: healthy, then with faults; the offline analyser agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _fleet

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def collect(lab, out, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', lab.inventory_path,
            '-e', 'collect_dir=%s' % out] + list(extra) + [os.path.join(REPO, 'playbooks', 'collect_network_facts.yml')]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    return r


def test_collect_healthy_then_faults(lab_factory, tmp_path):
    lab = lab_factory('seed')
    hosts = sorted(h for h in lab.state['hosts'] if h != 'switch')
    r = collect(lab, str(tmp_path / 'ok'))
    assert r.returncode == 0, r.stdout[-3000:]
    with open(tmp_path / 'ok' / 'fleet-summary.json') as f:
        ok = json.load(f)
    assert ok['healthy'] is True, ok
    assert sorted(h['host'] for h in ok['hosts']) == hosts
    assert ok['dnsmasq_processes'] == 1 and ok['module_errors'] == []
    assert 'netdiag collect: %d host(s)' % len(hosts) in r.stdout

    lab.fault('dnsmasq_killed')
    lab.fault('vnet_down', 'vm2')
    try:
        r = collect(lab, str(tmp_path / 'bad'), '-e', 'netdiag_nova_conf_path=/nonexistent/nova.conf',
                    '-e', 'collect_fail_on_problems=true')
    finally:
        lab.heal()
    assert r.returncode != 0 and 'The fleet is not healthy' in r.stdout
    with open(tmp_path / 'bad' / 'fleet-summary.json') as f:
        bad = json.load(f)
    assert [(d['host'], d['bridge']) for d in bad['dead_dnsmasq']] == [('compute1', 'br100')]
    vm2 = lab.state['model']['instances']['vm2']
    assert (vm2['host'], vm2['vnet']) in [(i['host'], i['interface']) for i in bad['interfaces_down']]
    assert [e['module'] for e in bad['module_errors']] == ['nova_conf_info']
    assert len(bad['instances_without_lease']) >= 1
    # the offline analyser gives the same summary from the directory alone
    assert _fleet.summarize(_fleet.load_dir(str(tmp_path / 'bad'))) == bad
    with open(tmp_path / 'bad' / 'summary.txt') as f:
        assert f.read().startswith('netdiag collect: %d host(s), 1 with module errors, 0 dnsmasq running' % len(hosts))
