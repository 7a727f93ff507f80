# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline fleet analyser on real collect directories (fixtures/collect/README.md) and its filters/CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _fleet

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'collect')


def summary(name):
    return _fleet.summarize(_fleet.load_dir(os.path.join(FIX, name)))


def test_healthy():
    s = summary('seed_healthy')
    assert s['healthy'] is True and s['host_count'] == 5 and s['dnsmasq_processes'] == 1
    assert [h['host'] for h in s['hosts']] == ['compute1', 'external', 'gateway', 'vm1', 'vm2']
    compute = s['hosts'][0]
    assert sorted(compute['modules_ok']) == sorted(_fleet.FACT_MODULES)
    assert s['hosts'][3]['modules_ok'] == ['interface_info', 'bridge_info', 'iptables_info']
    assert len(s['instances']) == 2 and all(i['console_result'] == 'ok' for i in s['instances'])
    assert s['network_managers'] == {'compute1': 'FlatDHCPManager'}
    assert _fleet.render_text(s).endswith('-> healthy')


def test_hostsfile_and_vnet_down():
    s = summary('seed_hostsfile_vnet_down')
    assert s['healthy'] is False
    assert [(i['host'], i['interface'], i['codes']) for i in s['interfaces_down']] == [
        ('compute1', 'vnet1', ['enslaved_but_down']), ('vm2', 'eth0', ['no_carrier'])]
    assert [b['code'] for b in s['bridge_problems']] == ['port_down']
    (f,) = s['dhcp_failures_by_mac']
    assert f['mac'] == 'fa:16:3e:56:0b:6f' and f['results'] == ['no_address_available']
    assert f['instances'] == ['instance-00000001']
    assert [i['instance'] for i in s['instances_without_lease']] == ['instance-00000001']
    assert s['problem_counts']['dhcp_no_lease'] == 1 and s['problem_counts']['dhcp_no_address_available'] == 1


def test_dnsmasq_killed_and_module_error():
    s = summary('seed_dnsmasq_killed_bad_novaconf')
    assert [(d['host'], d['bridge']) for d in s['dead_dnsmasq']] == [('compute1', 'br100')]
    assert s['dnsmasq_processes'] == 0
    assert s['hosts_with_errors'] == ['compute1']
    assert s['module_errors'][0]['module'] == 'nova_conf_info' and '/nonexistent/nova.conf' in s['module_errors'][0]['message']
    # no DHCP failure in the log (requests never reached a dnsmasq): the console logs and the dead server say it
    assert s['dhcp_failures_by_mac'] == []
    assert len(s['instances_without_lease']) == 2
    text = _fleet.render_text(s)
    assert 'dnsmasq down on br100' in text and 'dead dnsmasq (1):' in text


def test_multi_host_noise_is_not_a_failure():
    ok = {'host': 'c1', 'modules': {'dnsmasq_info': {'dnsmasq': {'log': {'macs': {
        'fa:16:3e:00:00:01': {'result': 'complete'}}}}, 'problems': []}}}
    noise = {'host': 'c2', 'modules': {'dnsmasq_info': {'dnsmasq': {'log': {'macs': {
        'fa:16:3e:00:00:01': {'result': 'no_address_available'}}}}, 'problems': []}}}
    assert _fleet.summarize([ok, noise])['dhcp_failures_by_mac'] == []
    assert len(_fleet.summarize([noise])['dhcp_failures_by_mac']) == 1


def test_network_manager_mismatch():
    docs = [{'host': h, 'modules': {'nova_conf_info': {'nova_conf': {'network': {'network_manager_short': m}}}}}
            for h, m in (('c1', 'FlatDHCPManager'), ('c2', 'VlanManager'))]
    s = _fleet.summarize(docs)
    assert [c['code'] for c in s['config_problems']] == ['network_manager_mismatch'] and s['healthy'] is False


def test_filters_match_offline_code():
    # imported here, not at collection time: the filter imports ansible.errors (controller code), and once that is
    # loaded, AnsibleModule warnings in later module tests go to the controller's display instead of the result
    from ansible_collections.cloudops.netdiag.plugins.filter import fleet as fleet_filter

    docs = _fleet.load_dir(os.path.join(FIX, 'seed_hostsfile_vnet_down'))
    s = fleet_filter.netdiag_fleet_summary(docs)
    assert s == summary('seed_hostsfile_vnet_down')
    assert fleet_filter.netdiag_fleet_text(s, limit=1).count('  - ... ') >= 1
    with pytest.raises(Exception, match='list of collect host documents'):
        fleet_filter.netdiag_fleet_summary([{'nope': 1}])


def test_cli(tmp_path):
    script = os.path.join(os.path.dirname(_fleet.__file__), '_fleet.py')
    out = subprocess.run([sys.executable, script, os.path.join(FIX, 'seed_dnsmasq_killed_bad_novaconf'), '--json'],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out)['dead_dnsmasq'][0]['bridge'] == 'br100'
    bad = subprocess.run([sys.executable, script, str(tmp_path)], check=False, capture_output=True, text=True)
    assert bad.returncode == 1 and 'not a collect directory' in bad.stderr
    (tmp_path / 'hosts').mkdir()
    (tmp_path / 'hosts' / 'x.json').write_text('{not json')
    bad = subprocess.run([sys.executable, script, str(tmp_path)], check=False, capture_output=True, text=True)
    assert bad.returncode == 1 and 'x.json' in bad.stderr and 'Traceback' not in bad.stderr
