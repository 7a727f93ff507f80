# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""analyze_offline.yml on real sosreports (Debian's sos 4.0 run inside a lab host's namespace, lab/sosreport.py) and
on real bundles of collect_network_facts.yml, with real faults injected in the lab; the playbook runs after the
fault is healed, so only the files can tell."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from lab.sosreport import sosreport

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'diagnose'))
from diagnose_lab_helpers import snapshot  # noqa: E402  pylint: disable=wrong-import-position,import-error

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(REPO, 'playbooks', 'analyze_offline.yml')
COLLECT = os.path.join(REPO, 'playbooks', 'collect_network_facts.yml')

pytestmark = pytest.mark.skipif(shutil.which('sos') is None, reason='sos (Debian package sosreport) is not installed')

# lab fault -> the cause an offline verdict names from a sosreport of the compute node
SOS_FAULTS = {
    'vnet_down': 'vnet_down',
    'vnet_detached': 'vnet_not_in_bridge',
    'bridge_down': 'bridge_down',
    'physical_interface_down': 'physical_interface_down',
    'forwarding_disabled': 'forwarding_disabled',
    'instance_interface_down': 'instance_interface_down',
    'dnsmasq_killed': 'dhcp_server_down',
    'dhcp_hostsfile_missing_mac': 'dhcp_no_address_available',
}


def _env():
    return dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1', PYTHONDONTWRITEBYTECODE='1')


def analyze(source, instance, report_dir, extra=None):
    """Run playbooks/analyze_offline.yml; (returncode, report or None, output)."""
    ev = {'source': str(source), 'instance': instance, 'netdiag_report_dir': str(report_dir)}
    ev.update(extra or {})
    res = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), PLAYBOOK, '-e', json.dumps(ev)], cwd=REPO,
                         env=_env(), capture_output=True, text=True, timeout=120, check=False)
    path = os.path.join(str(report_dir), '%s.json' % instance)
    report = None
    if res.returncode == 0 and os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            report = json.load(f)
    return res.returncode, report, res.stdout + res.stderr


def _compute_of(lab, inst):
    return lab.state['model']['instances'][inst]['host']


def _first_instance(lab):
    return sorted(n for n, i in lab.state['model']['instances'].items() if i['state'] == 'active')[0]


def _sos_of_fault(lab, fault, out):
    rec = lab.fault(fault)
    try:
        inst = rec['target']
        return inst, sosreport(lab, _compute_of(lab, inst), str(out))
    finally:
        lab.heal()


@pytest.mark.parametrize('fault, cause', sorted(SOS_FAULTS.items()))
def test_sosreport_of_a_fault_gives_its_cause(seed_lab, tmp_path, fault, cause):
    inst, report_path = _sos_of_fault(seed_lab, fault, tmp_path / 'sos')
    assert os.path.isdir(os.path.join(report_path, 'sos_commands', 'networking'))
    rc, report, out = analyze(report_path, inst, tmp_path / 'out')
    assert rc == 0, out
    v = report['verdict']
    assert (v['status'], v['cause']) == ('fault', cause), json.dumps(v, indent=1)[:3000]
    assert report['tool'] == 'cloudops.netdiag.analyze_offline'
    assert v['offline']['kind'] == 'sosreport' and v['offline']['compute_host'] == _compute_of(seed_lab, inst)
    assert any(e['kind'] == 'cause' for e in v['evidence'])
    # what a sosreport cannot show is said, never guessed
    what = {n['what'] for n in v['offline']['not_checkable']}
    assert {'probes', 'capture', 'dns', 'console_log_info', 'ebtables_info'} <= what
    assert os.path.exists(tmp_path / 'out' / ('%s.html' % inst)) and os.path.exists(tmp_path / 'out' / ('%s.md' % inst))


def test_healthy_sosreport_archive_by_uuid_and_domain_name(seed_lab, tmp_path):
    inst = _first_instance(seed_lab)
    before = snapshot(seed_lab)
    archive = sosreport(seed_lab, _compute_of(seed_lab, inst), str(tmp_path / 'sos'), archive=True)
    # sos changed nothing on the lab host (it runs in a private mount and UTS namespace)
    assert snapshot(seed_lab) == before
    assert archive.endswith('.tar.xz')
    rec = seed_lab.state['model']['instances'][inst]
    for name in (inst, rec['uuid'], rec['name']):
        rc, report, out = analyze(archive, name, tmp_path / 'out')
        assert rc == 0, out
        v = report['verdict']
        assert (v['status'], v['cause']) == ('ok', 'none'), v
        assert report['instance']['uuid'] == rec['uuid']
        # the fixed IP came from the report (DHCP log or neighbour table), not from the lab
        assert report['instance']['fixed_ips'][0]['address'] == rec['fixed_ip'], report['instance']
    assert not [p for p in os.listdir('/tmp') if p.startswith('netdiag-offline-')], 'scratch directory left behind'


def test_firewall_drop_needs_the_reported_symptom(seed_lab, tmp_path):
    inst, report_path = _sos_of_fault(seed_lab, 'forward_drop', tmp_path / 'sos')
    rc, report, out = analyze(report_path, inst, tmp_path / 'facts')
    assert rc == 0, out
    v = report['verdict']
    # the DROP rule names the instance but counted nothing: a finding, not a proven cause
    assert (v['status'], v['cause']) == ('ok', 'none')
    assert [s['cause'] for s in v['suspects']] == ['firewall_drop']
    rc, report, out = analyze(report_path, inst, tmp_path / 'told', {'symptom': 'unreachable'})
    assert rc == 0, out
    v = report['verdict']
    assert (v['status'], v['cause']) == ('fault', 'firewall_drop')
    assert 'DROP' in ' '.join(e['excerpt'] for e in v['evidence'] if e['kind'] == 'cause')


def test_directory_of_several_reports_finds_the_compute_node(seed_lab, tmp_path):
    rec = seed_lab.fault('vnet_down')
    try:
        inst = rec['target']
        for host in (_compute_of(seed_lab, inst), 'gateway'):
            sosreport(seed_lab, host, str(tmp_path / 'all'))
    finally:
        seed_lab.heal()
    rc, report, out = analyze(tmp_path / 'all', inst, tmp_path / 'out')
    assert rc == 0, out
    assert report['verdict']['cause'] == 'vnet_down'
    assert sorted(h['host'] for h in report['offline']['hosts']) == sorted([_compute_of(seed_lab, inst), 'gateway'])


@pytest.mark.parametrize('fault, cause', [('dnsmasq_killed', 'dhcp_server_down'), ('vnet_down', 'vnet_down')])
def test_collected_bundle_gives_the_cause(seed_lab, tmp_path, fault, cause):
    rec = seed_lab.fault(fault)
    try:
        res = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), '-i', seed_lab.inventory_path, COLLECT,
                              '-e', json.dumps({'collect_dir': str(tmp_path / 'bundle')})], cwd=REPO, env=_env(),
                             capture_output=True, text=True, timeout=300, check=False)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    finally:
        seed_lab.heal()
    inst = rec['target']
    rc, report, out = analyze(tmp_path / 'bundle', inst, tmp_path / 'out')
    assert rc == 0, out
    v = report['verdict']
    assert (v['status'], v['cause']) == ('fault', cause), v
    assert v['offline']['kind'] == 'bundle'
    # a bundle holds what sos leaves out: only the live checks are not checkable
    assert {n['what'] for n in v['offline']['not_checkable']} == {'probes', 'capture', 'counters', 'dns', 'dhcp_probe'}
