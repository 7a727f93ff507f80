# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/repair_floating_ip.yml and the floating_ip_repair role, end to end.

Real pieces: the private MariaDB with the nova schema and the chapter's rows, ansible-playbook
with the repo's ansible.cfg, and a compute host that is a network namespace of this test
(``tnovadb<pid>``) holding nova-network's real nat rules (the natcheck fixture loaded with
iptables-restore), reached through an interpreter wrapper as the lab does.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

pytestmark = pytest.mark.lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
NAT_FIXTURE = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'natcheck', 'compute1_nat.iptables-save')


@pytest.fixture
def compute_ns(tmp_path):
    """A namespace standing for compute1, with nova-network's nat rules; always deleted."""
    name = 'tnovadb%d' % os.getpid()
    subprocess.run(['ip', 'netns', 'add', name], check=True)
    try:
        with open(NAT_FIXTURE, 'rb') as f:
            subprocess.run(['ip', 'netns', 'exec', name, 'iptables-restore'], stdin=f, check=True)
        wrapper = tmp_path / 'compute1-python'
        wrapper.write_text('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (name, sys.executable))
        wrapper.chmod(0o755)
        yield {'name': name, 'python': str(wrapper)}
    finally:
        subprocess.run(['ip', 'netns', 'del', name], check=False)


@pytest.fixture
def repair_env(chapter_scenario, nova_db, compute_ns, tmp_path):
    inv = {'all': {
        'vars': {'netdiag_nova_db': nova_db.params(), 'netdiag_report_dir': str(tmp_path / 'reports')},
        'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}},
        'children': {'compute': {'hosts': {'compute1': {'ansible_connection': 'local', 'netdiag_nova_host': 'compute1',
                                                        'ansible_python_interpreter': compute_ns['python']}}}}}}
    path = tmp_path / 'inventory.yml'
    path.write_text(yaml.safe_dump(inv))
    return {'inventory': str(path), 'backups': str(tmp_path / 'backups'), 'reports': str(tmp_path / 'reports'),
            'scenario': chapter_scenario, 'db': nova_db}


def playbook(env, *extra):
    e = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    argv = [os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), '-i', env['inventory'],
            os.path.join(REPO, 'playbooks', 'repair_floating_ip.yml'), '-e', 'backup_dir=' + env['backups']] + list(extra)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=e, timeout=300, cwd=REPO, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert env['db'].params()['login_password'] not in out, 'password in the play output'
    assert 'Traceback' not in out and 'Callback dispatch' not in out
    return proc.returncode, out


def recap_changed(out):
    line = [x for x in out.splitlines() if x.startswith('localhost ')][-1]
    return int(line.split('changed=')[1].split()[0])


def test_without_confirm_only_audits_and_plans(repair_env):
    sums = repair_env['db'].checksum()
    rc, out = playbook(repair_env, '-e', 'address=203.0.113.30')
    assert rc == 0, out
    assert 'fixed_ip_id 2 -> NULL, host compute1 -> NULL' in out.replace('\n        ', ' ')
    assert 'Nothing was changed. To apply this plan run again with -e confirm=true.' in out.replace('\n        ', ' ')
    assert recap_changed(out) == 0 and repair_env['db'].checksum() == sums
    assert not os.path.exists(repair_env['backups'])


def test_check_diff_with_confirm_changes_nothing(repair_env):
    sums = repair_env['db'].checksum()
    rc, out = playbook(repair_env, '-e', 'address=203.0.113.30', '-e', 'confirm=true', '--check', '--diff')
    assert rc == 0, out
    assert '-        fixed_ip_id: 2' in out and '+        fixed_ip_id: null' in out, out  # the diff of the row
    assert 'Nothing was changed (check mode)' in out
    assert repair_env['db'].checksum() == sums and not os.path.exists(repair_env['backups'])


def test_confirmed_repair_verify_report_and_next_steps(repair_env):
    db = repair_env['db']
    sc = repair_env['scenario']
    before = db.checksum()
    rc, out = playbook(repair_env, '-e', 'address=203.0.113.30', '-e', 'confirm=true')
    assert rc == 0, out
    verify = out[out.index('Verify the repair]'):]
    assert verify.splitlines()[1].startswith('ok: [localhost]'), verify[:500]
    row = db.row('floating_ips', sc['old']['floating_ip_id'])
    assert row['fixed_ip_id'] is None and row['host'] is None
    after = db.checksum()
    assert [t for t in before if before[t] != after[t]] == ['nova.floating_ips']
    backups = glob.glob(os.path.join(repair_env['backups'], '*.json'))
    reports = glob.glob(os.path.join(repair_env['reports'], 'floating_ip_repair-*.json'))
    assert len(backups) == 1 and len(reports) == 1
    with open(reports[0]) as f:
        report = json.load(f)
    assert [c['address'] for c in report['changed']] == ['203.0.113.30'] and report['backups'] == backups
    assert report['audit_before']['findings'] == 1 and report['audit_after']['findings'] == 0
    # the compute host (a real namespace with nova's rules) still NATs the address: say what to do there
    assert [(f['code'], f['object']) for f in report['nat_checks'][0]['findings']] == [('nat_without_association', '203.0.113.30')]
    assert report['next_steps'][0].startswith('On compute1: nova-network still has the DNAT/SNAT rules of 203.0.113.30 -> 10.0.2.24')
    assert any('release=true' in s for s in report['next_steps'])
    # again: nothing to do
    rc, out = playbook(repair_env, '-e', 'address=203.0.113.30', '-e', 'confirm=true')
    assert rc == 0 and 'Nothing to change' in out and recap_changed(out) == 0, out
    assert db.checksum() == after


def test_all_stale_with_release(repair_env):
    db = repair_env['db']
    rc, out = playbook(repair_env, '-e', 'all_stale=true', '-e', 'release=true', '-e', 'confirm=true')
    assert rc == 0, out
    row = db.row('floating_ips', repair_env['scenario']['old']['floating_ip_id'])
    assert (row['fixed_ip_id'], row['host'], row['project_id'], row['auto_assigned']) == (None, None, None, 0)
    assert db.row('floating_ips', repair_env['scenario']['web']['floating_ip_id'])['fixed_ip_id'] is not None


@pytest.mark.parametrize('args,words', [
    ((), 'Say what to repair with exactly one of'),
    (('-e', 'address=203.0.113.30', '-e', 'instance=old-vm'), 'Say what to repair with exactly one of'),
    (('-e', 'address=203.0.113.31', '-e', 'confirm=true'), 'which is not deleted; set force=true'),
    (('-e', "instance=x' OR '1'='1", '-e', 'confirm=true'), 'no instance has the uuid, hostname or display name'),
    # the raw byte 0xff (not UTF-8) on the command line: os.fsencode turns the surrogate back into that byte
    (('-e', 'instance=old-vm\udcff', '-e', 'confirm=true'), 'instance contains bytes that are not valid UTF-8'),
    (('-e', 'address=203.0.113.30\udcfe', '-e', 'confirm=true'), 'address contains bytes that are not valid UTF-8'),
    (('-e', 'instance=' + 'a' * 5000, '-e', 'confirm=true'), 'is longer than 255 characters'),
])
def test_refusals_change_nothing(repair_env, args, words):
    sums = repair_env['db'].checksum()
    rc, out = playbook(repair_env, *args)
    assert rc != 0 and words in out.replace('\n        ', ' '), out
    assert repair_env['db'].checksum() == sums


def test_the_command_the_diagnose_verdict_recommends(repair_env):
    """The diagnose verdict says: repair_floating_ip.yml -e floating_ip=IP --check --diff, then -e confirm=true."""
    sums = repair_env['db'].checksum()
    rc, out = playbook(repair_env, '-e', 'floating_ip=203.0.113.30', '--check', '--diff')
    assert rc == 0 and '+        fixed_ip_id: null' in out and repair_env['db'].checksum() == sums, out
    rc, out = playbook(repair_env, '-e', 'floating_ip=203.0.113.30', '-e', 'confirm=true')
    assert rc == 0 and repair_env['db'].row('floating_ips', repair_env['scenario']['old']['floating_ip_id'])['fixed_ip_id'] is None
