# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guarantees of floating_ip_disassociate that need the server to misbehave, on the real MariaDB.

- the re-read after the UPDATE: a trigger (standing for anything else writing the row in the same
  statement) makes the row differ from the plan; the module must roll back and say so;
- ONE transaction: with two floating IPs on one instance, a failure on the second leaves the first
  unchanged too;
- the four database errors of the issue through ``ansible localhost -m`` with a log file: one
  message each, no traceback, the password neither in the output nor in the log.
"""

from __future__ import annotations

import json

import pytest

from moduleexec import run_adhoc, run_module

pytestmark = pytest.mark.lab

FIP = 'floating_ip_disassociate'
INFO = 'nova_network_info'


class Trigger(object):
    """A BEFORE UPDATE trigger on floating_ips, created as root and always dropped."""

    def __init__(self, server, body):
        self.server, self.body = server, body

    def __enter__(self):
        self.conn = self.server.connect('nova', autocommit=True)
        with self.conn.cursor() as cur:
            cur.execute('CREATE TRIGGER netdiag_test_tamper BEFORE UPDATE ON floating_ips FOR EACH ROW ' + self.body)
        return self

    def __exit__(self, *exc):
        try:
            with self.conn.cursor() as cur:
                cur.execute('DROP TRIGGER IF EXISTS netdiag_test_tamper')
        finally:
            self.conn.close()


def test_reread_differs_from_plan_rolls_back(chapter_scenario, nova_db, mariadb_server, tmp_path):
    sums = nova_db.checksum()
    with Trigger(mariadb_server, "SET NEW.host = 'tampered'"):
        r = run_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path)))
    assert r.failed and 'Traceback' not in r.output and r['error_code'] == 'verify_failed', r
    assert r['msg'].startswith('floating IP 203.0.113.30 reads back as ') and '"host": "tampered"' in r['msg'], r['msg']
    assert 'rolled back, nothing changed' in r['msg'] and r['backup_path'] in r['msg'], r['msg']
    assert nova_db.checksum() == sums
    # the backup written before the UPDATE holds the row as it still is
    with open(r['backup_path']) as f:
        backup = json.load(f)
    row = nova_db.row('floating_ips', chapter_scenario['old']['floating_ip_id'])
    assert backup['rows_before'][0]['fixed_ip_id'] == row['fixed_ip_id'] == chapter_scenario['old']['fixed_ip_id']
    # without the trigger the same repair goes through
    assert run_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path)))['changed'] is True


def test_two_rows_one_transaction(chapter_scenario, nova_db, mariadb_server, tmp_path):
    """old-vm's fixed IP carries two floating IPs; the second one's row is tampered with: neither changes."""
    old = chapter_scenario['old']
    second = nova_db.floating_ip('203.0.113.71', old['fixed_ip_id'], project_id='tenant-a', host='compute1')
    sums = nova_db.checksum()
    plan = run_module(FIP, dict(nova_db.params(), instance='old-vm', backup_dir=str(tmp_path)), check=True)
    assert sorted(c['address'] for c in plan['plan']['changes']) == ['203.0.113.30', '203.0.113.71'], plan
    with Trigger(mariadb_server, "IF OLD.address = '203.0.113.71' THEN SET NEW.host = 'tampered'; END IF"):
        r = run_module(FIP, dict(nova_db.params(), instance='old-vm', backup_dir=str(tmp_path)))
    assert r.failed and r['error_code'] == 'verify_failed' and 'Traceback' not in r.output, r
    assert nova_db.checksum() == sums
    assert nova_db.row('floating_ips', old['floating_ip_id'])['fixed_ip_id'] == old['fixed_ip_id']
    assert nova_db.row('floating_ips', second)['fixed_ip_id'] == old['fixed_ip_id']
    r = run_module(FIP, dict(nova_db.params(), instance='old-vm', backup_dir=str(tmp_path)))
    assert r['changed'] is True and sorted(c['address'] for c in r['plan']['changes']) == ['203.0.113.30', '203.0.113.71']


def test_db_errors_through_ansible_one_message_no_password_in_output_or_log(chapter_scenario, nova_db, mariadb_server, partial_db,
                                                                            tmp_path):
    rw, ro = nova_db.params(), nova_db.params('nova_ro')
    root = dict(mariadb_server.conn_params, login_db=partial_db)
    cases = [
        ('db down', dict(rw, login_unix_socket=str(tmp_path / 'down.sock'), connect_timeout=3),
         'cannot connect to the nova database at socket %s' % (tmp_path / 'down.sock')),
        ('wrong password', dict(rw, login_password='Wr0ng-Pa55-' + rw['login_password'][::-1]),
         'access denied for user nova at socket %s: wrong user name or password' % rw['login_unix_socket']),
        ('missing table', root, "Table 'nova_partial.floating_ips' doesn't exist"),
        ('read-only user', ro, 'user nova_ro is not allowed to change floating_ips in database nova'),
    ]
    secrets = [rw['login_password'], ro['login_password'], root['login_password'], cases[1][1]['login_password']]
    sums = nova_db.checksum()
    for name, params, words in cases:
        log = str(tmp_path / ('%s.log' % name.replace(' ', '_')))
        r = run_adhoc(FIP, dict(params, address='203.0.113.30', backup_dir=str(tmp_path / 'b')), log_path=log)
        assert r.rc != 0 and 'Traceback' not in r.output, (name, r)
        assert r.get('msg') and words in r['msg'] and r['msg'].count('\n') == 0, (name, r.get('msg'))
        assert r.output.count('FAILED!') == 1, (name, r.output)
        with open(log) as f:
            text = f.read()
        assert words in text, (name, text[-2000:])  # the log holds the same one message ...
        for secret in secrets:
            assert secret not in r.output and secret not in text, (name, 'password leaked')  # ... and no password
    assert nova_db.checksum() == sums
