# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The chapter's repair on the whole lab: its MariaDB, its inventory, its compute node's real iptables.

The lab's ``floating_ip_stale`` fault terminates an instance in the DB the way nova does and
leaves its floating IP associated; playbooks/repair_floating_ip.yml must find it, plan, refuse to
change anything without confirm, repair it with confirm, and say what remains on the compute node
(whose nat table is read from its namespace).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.slow]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def playbook(lab, *extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), '-i', lab.inventory_path,
            os.path.join(REPO, 'playbooks', 'repair_floating_ip.yml')] + list(extra)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, timeout=600, cwd=REPO, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    assert lab.state['db']['nova_password'] not in out and 'Traceback' not in out
    return proc.returncode, out


def floating_row(lab, address):
    conn = lab.db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT id, fixed_ip_id, host, project_id FROM floating_ips WHERE address = %s AND deleted = 0', (address,))
            return cur.fetchone()
    finally:
        conn.close()


def test_chapter_repair_on_the_lab(lab_factory, tmp_path):
    lab = lab_factory('seed')
    rec = lab.fault('floating_ip_stale')
    inst = [i for i in lab.state['model']['instances'].values() if i['hostname'] == rec['target']][0]
    address = inst['floating_ip']
    before = floating_row(lab, address)
    assert before[1] is not None

    backups = str(tmp_path / 'backups')
    rc, out = playbook(lab, '-e', 'instance=' + rec['target'], '-e', 'backup_dir=' + backups)
    assert rc == 0 and 'Nothing was changed' in out, out
    assert floating_row(lab, address) == before and not os.path.exists(backups)

    reports = str(tmp_path / 'reports')
    rc, out = playbook(lab, '-e', 'instance=' + rec['target'], '-e', 'confirm=true', '-e', 'backup_dir=' + backups,
                       '-e', 'netdiag_report_dir=' + reports)
    assert rc == 0, out
    after = floating_row(lab, address)
    assert after[0] == before[0] and after[1] is None and after[2] is None and after[3] == before[3]
    with open(glob.glob(os.path.join(reports, 'floating_ip_repair-*.json'))[0]) as f:
        report = json.load(f)
    assert [c['address'] for c in report['changed']] == [address] and report['audit_after']['findings'] == 0
    # what the report says about the compute node must be what its nat table really holds
    ns = lab.state['hosts'][rec['host']]['netns']
    nat = subprocess.run(['ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat'], stdout=subprocess.PIPE, check=True,
                         timeout=30).stdout.decode()
    still = (address + '/32') in nat
    step = report['next_steps'][0]
    print('compute node %s still NATs %s: %s; next step: %s' % (rec['host'], address, still, step))
    assert step.startswith('On %s: ' % before[2])
    if still:
        assert 'still has the DNAT/SNAT rules of %s' % address in step, step
    else:
        assert 'no NAT rule for %s is left' % address in step, step

    rc, out = playbook(lab, '-e', 'instance=' + rec['target'], '-e', 'confirm=true', '-e', 'backup_dir=' + backups)
    assert rc == 0 and 'Nothing to change' in out, out
    assert len(glob.glob(os.path.join(backups, '*.json'))) == 1
