# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova_network_info and floating_ip_disassociate against a REAL private MariaDB with the real nova schema.

The modules run through their real entry point (module file + JSON args file, as Ansible runs
them on a target), in subprocesses; a few through ``ansible localhost -m``.
"""

from __future__ import annotations

import glob
import json
import os
import stat
import time

import pytest

from lab.mariadb import MariaDB
from moduleexec import finish_module, run_adhoc, run_module, start_module
from novarows import DDL, NOVA_PASSWORD, NovaRows, build_chapter_scenario, row_locked

pytestmark = pytest.mark.lab

FIP = 'floating_ip_disassociate'
INFO = 'nova_network_info'


def codes(findings):
    return sorted(f['code'] for f in findings)


def wait_for(predicate, what, timeout=30.0):
    """Poll ``predicate`` (bounded); the bound only guards against a hang, it is not asserted on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError('timed out waiting for %s' % what)


def all_rows(db):
    return dict((t, db.rows(t)) for t in ('instances', 'networks', 'virtual_interfaces', 'fixed_ips', 'floating_ips'))


# ---------------------------------------------------------------------------------------------
# nova_network_info
# ---------------------------------------------------------------------------------------------

def test_instance_facts_of_the_terminated_instance(chapter_scenario, nova_db):
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='old-vm'))
    assert not r.failed, r
    inst = r['instance']
    assert inst['uuid'] == chapter_scenario['old']['uuid']
    assert inst['deleted'] is True and inst['gone'] is True and inst['vm_state'] == 'deleted'
    assert [f['address'] for f in inst['fixed_ips']] == ['10.0.2.24']
    fixed = inst['fixed_ips'][0]
    assert fixed['network']['bridge'] == 'br100' and fixed['mac'] == chapter_scenario['old']['mac']
    assert fixed['allocated'] is False and fixed['floating_ips'] == ['203.0.113.30']
    assert [(f['address'], f['fixed_address']) for f in inst['floating_ips']] == [('203.0.113.30', '10.0.2.24')]
    assert 'floating_ip_on_deleted_instance' in codes(r['problems'])


def test_instance_facts_by_uuid_and_display_name(chapter_scenario, nova_db):
    nova_db.attached_instance('db-hostname', '10.0.2.40', '203.0.113.50', network_id=chapter_scenario['network_id'],
                              display_name='Database Server')
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance=chapter_scenario['web']['uuid']))
    assert r['instance']['hostname'] == 'web01' and r['instance']['gone'] is False
    assert [f['address'] for f in r['instance']['floating_ips']] == ['203.0.113.31']
    assert r['problems'] == []
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='Database Server'))
    assert r['instance']['hostname'] == 'db-hostname'
    # the collation is case-insensitive; the lookup is exact and says what is similar
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='WEB01'))
    assert r['instance'] is None and codes(r['problems']) == ['instance_not_found']
    assert 'web01' in r['problems'][0]['message']


def test_hostname_reused_prefers_the_live_instance_then_reports_ambiguity(chapter_scenario, nova_db):
    net = chapter_scenario['network_id']
    new = nova_db.attached_instance('old-vm', '10.0.2.30', network_id=net)  # a new VM with the old name
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='old-vm'))
    assert r['instance']['uuid'] == new['uuid'] and len(r['matches']) == 2
    nova_db.attached_instance('old-vm', '10.0.2.31', network_id=net)  # and a second live one
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='old-vm'))
    assert not r.failed and r['instance'] is None and len(r['matches']) == 3
    assert codes(r['problems']) == ['ambiguous_instance']


def test_peers_in_the_same_lookup(chapter_scenario, nova_db):
    """The instance and its peers in one module run: each peer as the instance would be, in order, and their problems
    (an unknown name) out of the instance's."""
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='web01', peers=['old-vm', 'no-such-vm']))
    assert not r.failed, r
    assert r['instance']['hostname'] == 'web01' and r['problems'] == []
    assert [p['name'] for p in r['peers']] == ['old-vm', 'no-such-vm']
    assert r['peers'][0]['instance']['uuid'] == chapter_scenario['old']['uuid']
    assert [f['address'] for f in r['peers'][0]['instance']['fixed_ips']] == ['10.0.2.24']
    assert r['peers'][1]['instance'] is None and r['peers'][1]['matches'] == []
    # a peer name no nova column can hold is refused before any query, naming it as the peer
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='web01', peers=['x' * 300]))
    assert r.failed and 'peer' in r['msg'] and 'longer than' in r['msg'], r


# ---------------------------------------------------------------------------------------------
# audit
# ---------------------------------------------------------------------------------------------

def test_audit_finds_the_chapter_case_and_only_it(chapter_scenario, nova_db):
    r = run_module(INFO, dict(nova_db.params('nova_ro'), audit=True))
    assert not r.failed, r
    findings = r['audit']['findings']
    assert codes(findings) == ['floating_ip_on_deleted_instance']
    f = findings[0]
    assert f['object'] == '203.0.113.30' and f['repair'] == {'address': '203.0.113.30'}
    assert [row['id'] for row in f['rows']['floating_ips']] == [chapter_scenario['old']['floating_ip_id']]
    assert [row['address'] for row in f['rows']['fixed_ips']] == ['10.0.2.24']
    assert [row['uuid'] for row in f['rows']['instances']] == [chapter_scenario['old']['uuid']]
    # only the rows that can matter are read: live floating IPs, the fixed IPs that name an instance
    # or are pointed at, their instances and VIFs (the spare fixed IP and the soft-deleted floating row are not)
    assert r['audit']['summary']['rows_read'] == {'floating_ips': 4, 'fixed_ips': 3, 'instances': 3, 'networks': 1,
                                                  'virtual_interfaces': 3}


def test_audit_other_inconsistencies(chapter_scenario, nova_db):
    db = nova_db
    net = chapter_scenario['network_id']
    # floating IP pointing at a fixed IP id that does not exist (no FK on floating_ips.fixed_ip_id)
    db.floating_ip('203.0.113.60', fixed_ip_id=9999, project_id='tenant-a', host='compute1')
    # ... at a soft-deleted fixed IP
    gone_fixed = db.fixed_ip('10.0.2.61', net, deleted=True)
    db.floating_ip('203.0.113.61', fixed_ip_id=gone_fixed, project_id='tenant-a', host='compute1')
    # ... at a fixed IP allocated to nobody
    db.floating_ip('203.0.113.62', fixed_ip_id=chapter_scenario['spare_fixed'], project_id='tenant-a', host='compute1')
    # a deleted instance whose fixed IP is still allocated (allocated = 1)
    zombie = db.attached_instance('zombie', '10.0.2.63', network_id=net)
    db.execute("UPDATE instances SET deleted = id, deleted_at = NOW(), vm_state = 'deleted' WHERE id = %s", (zombie['id'],))
    # a fixed IP whose VIF belongs to another instance
    a = db.attached_instance('vm-a', '10.0.2.64', network_id=net)
    b = db.attached_instance('vm-b', '10.0.2.65', network_id=net)
    db.execute('UPDATE fixed_ips SET virtual_interface_id = %s WHERE id = %s', (a['vif_id'], b['fixed_ip_id']))
    # a floating IP set up on compute2 while its instance runs on compute1 (multi_host network)
    c = db.attached_instance('vm-c', '10.0.2.66', '203.0.113.66', network_id=net)
    db.execute("UPDATE floating_ips SET host = 'compute2' WHERE id = %s", (c['floating_ip_id'],))
    # two floating IPs on one fixed IP
    db.floating_ip('203.0.113.67', fixed_ip_id=c['fixed_ip_id'], project_id='tenant-a', host='compute1')
    # a floating IP of project tenant-b on an instance of tenant-a
    d = db.attached_instance('vm-d', '10.0.2.68', network_id=net)
    db.floating_ip('203.0.113.68', fixed_ip_id=d['fixed_ip_id'], project_id='tenant-b', host='compute1')
    # terminated but not (yet) soft-deleted: deleted = 0, vm_state deleted, terminated_at set
    e = db.attached_instance('vm-e', '10.0.2.69', '203.0.113.69', network_id=net)
    db.execute("UPDATE instances SET vm_state = 'deleted', terminated_at = NOW() WHERE id = %s", (e['id'],))
    db.execute('UPDATE fixed_ips SET allocated = 0, leased = 0 WHERE id = %s', (e['fixed_ip_id'],))
    r = run_module(INFO, dict(db.params('nova_ro'), audit=True))
    assert not r.failed, r
    by_code = {}
    for f in r['audit']['findings']:
        by_code.setdefault(f['code'], []).append(f['object'])
    assert by_code == {
        'floating_ip_on_deleted_instance': ['203.0.113.30', '203.0.113.69'],
        'floating_ip_on_missing_fixed_ip': ['203.0.113.60'],
        'floating_ip_on_deleted_fixed_ip': ['203.0.113.61'],
        'floating_ip_on_unallocated_fixed_ip': ['203.0.113.62'],
        'fixed_ip_allocated_to_deleted_instance': ['10.0.2.63'],
        'fixed_ip_vif_conflict': ['10.0.2.65'],
        'floating_ip_host_mismatch': ['203.0.113.66'],
        'fixed_ip_multiple_floating': ['10.0.2.66'],
        'floating_ip_project_mismatch': ['203.0.113.68'],
    }, r['audit']['findings']
    assert r['audit']['summary']['warnings'] == 3 and r['audit']['summary']['errors'] == 7


# ---------------------------------------------------------------------------------------------
# the chapter's repair, end to end
# ---------------------------------------------------------------------------------------------

def test_chapter_scenario_end_to_end(chapter_scenario, nova_db, tmp_path):
    db = nova_db
    rw = db.params()
    audit = run_module(INFO, dict(db.params('nova_ro'), audit=True))
    stale = [f for f in audit['audit']['findings'] if f['code'] == 'floating_ip_on_deleted_instance']
    assert [f['object'] for f in stale] == ['203.0.113.30']
    before = all_rows(db)
    sums = db.checksum()

    plan = run_module(FIP, dict(rw, backup_dir=str(tmp_path), **stale[0]['repair']), check=True, diff=True)
    assert plan['changed'] is True and [c['address'] for c in plan['plan']['changes']] == ['203.0.113.30']
    assert plan['diff']['before']['floating_ips'][0]['fixed_ip_id'] == chapter_scenario['old']['fixed_ip_id']
    assert plan['diff']['after']['floating_ips'][0]['fixed_ip_id'] is None
    assert db.checksum() == sums and os.listdir(str(tmp_path)) == []

    done = run_module(FIP, dict(rw, backup_dir=str(tmp_path), **stale[0]['repair']))
    assert not done.failed and done['changed'] is True, done
    fid = chapter_scenario['old']['floating_ip_id']
    row = db.row('floating_ips', fid)
    assert row['fixed_ip_id'] is None and row['host'] is None and row['project_id'] == 'tenant-a'
    # the backup: mode 0600, the row as it was
    assert stat.S_IMODE(os.stat(done['backup_path']).st_mode) == 0o600
    with open(done['backup_path']) as f:
        backup = json.load(f)
    assert backup['rows_before'][0]['fixed_ip_id'] == chapter_scenario['old']['fixed_ip_id']
    assert backup['rows_before'][0]['host'] == 'compute1'
    assert backup['restore'] == [{'table': 'floating_ips', 'id': fid, 'set': {'fixed_ip_id': chapter_scenario['old']['fixed_ip_id'],
                                                                              'host': 'compute1'}}]
    # nothing else changed: every other row of every table is identical
    after = all_rows(db)
    for table in before:
        if table != 'floating_ips':
            assert after[table] == before[table], table
    assert [r for r in after['floating_ips'] if r['id'] != fid] == [r for r in before['floating_ips'] if r['id'] != fid]
    changed_cols = sorted(k for k in row if row[k] != [r for r in before['floating_ips'] if r['id'] == fid][0][k])
    assert changed_cols == ['fixed_ip_id', 'host', 'updated_at']
    # the audit is clean, the second run changes nothing
    assert run_module(INFO, dict(db.params('nova_ro'), audit=True))['audit']['findings'] == []
    sums = db.checksum()
    again = run_module(FIP, dict(rw, backup_dir=str(tmp_path), **stale[0]['repair']))
    assert not again.failed and again['changed'] is False and db.checksum() == sums
    assert len(os.listdir(str(tmp_path))) == 1


def test_repair_by_instance_and_release(chapter_scenario, nova_db, tmp_path):
    db = nova_db
    rw = db.params()
    r = run_module(FIP, dict(rw, instance='old-vm', release=True, backup_dir=str(tmp_path)))
    assert not r.failed and r['changed'] is True, r
    row = db.row('floating_ips', chapter_scenario['old']['floating_ip_id'])
    assert (row['fixed_ip_id'], row['host'], row['project_id'], row['auto_assigned']) == (None, None, None, 0)
    assert run_module(FIP, dict(rw, instance='old-vm', release=True, backup_dir=str(tmp_path)))['changed'] is False


def test_repair_by_fixed_ip_id_as_in_the_chapter(chapter_scenario, nova_db, tmp_path):
    db = nova_db
    fixed_id = chapter_scenario['old']['fixed_ip_id']
    r = run_module(FIP, dict(db.params(), fixed_ip_id=fixed_id, backup_dir=str(tmp_path)))
    assert r['changed'] is True and db.row('floating_ips', chapter_scenario['old']['floating_ip_id'])['fixed_ip_id'] is None
    r = run_module(FIP, dict(db.params(), fixed_ip_id=fixed_id, backup_dir=str(tmp_path)))
    assert not r.failed and r['changed'] is False
    assert r['msg'] == 'nothing to do: no live floating IP is selected by fixed_ip_id %d' % fixed_id, r['msg']
    # a mistyped id changes nothing and does not pretend there was something to disassociate
    sums = db.checksum()
    r = run_module(FIP, dict(db.params(), fixed_ip_id=4242, backup_dir=str(tmp_path)))
    assert not r.failed and r['changed'] is False and r['msg'] == 'nothing to do: no live floating IP is selected by fixed_ip_id 4242'
    assert db.checksum() == sums


def test_release_an_already_disassociated_floating_ip(chapter_scenario, nova_db, tmp_path):
    # 203.0.113.40 is free but still in tenant-a's pool: only release changes it
    r = run_module(FIP, dict(nova_db.params(), address='203.0.113.40', backup_dir=str(tmp_path)))
    assert r['changed'] is False
    r = run_module(FIP, dict(nova_db.params(), address='203.0.113.40', release=True, backup_dir=str(tmp_path)))
    assert r['changed'] is True and nova_db.row('floating_ips', chapter_scenario['free_pool_fip'])['project_id'] is None


def test_check_mode_changes_nothing(chapter_scenario, nova_db, tmp_path):
    sums = nova_db.checksum()
    for args in ({'address': '203.0.113.30', 'release': True}, {'instance': 'old-vm'},
                 {'fixed_ip_id': chapter_scenario['old']['fixed_ip_id']}, {'address': '203.0.113.31', 'force': True}):
        r = run_module(FIP, dict(nova_db.params(), backup_dir=str(tmp_path), **args), check=True, diff=True)
        assert not r.failed and r['changed'] is True, (args, r)
    assert nova_db.checksum() == sums
    assert os.listdir(str(tmp_path)) == []


def test_active_instance_refused_unless_forced(chapter_scenario, nova_db, tmp_path):
    sums = nova_db.checksum()
    r = run_module(FIP, dict(nova_db.params(), address='203.0.113.31', backup_dir=str(tmp_path)))
    assert r.failed and 'web01' in r['msg'] and 'force=true' in r['msg'] and 'nothing changed' in r['msg']
    assert 'Traceback' not in r.output and nova_db.checksum() == sums and os.listdir(str(tmp_path)) == []
    r = run_module(FIP, dict(nova_db.params(), address='203.0.113.31', force=True, backup_dir=str(tmp_path)))
    assert r['changed'] is True and nova_db.row('floating_ips', chapter_scenario['web']['floating_ip_id'])['fixed_ip_id'] is None


def test_ambiguous_hostname_refused_with_candidates(chapter_scenario, nova_db, tmp_path):
    nova_db.attached_instance('old-vm', '10.0.2.30', network_id=chapter_scenario['network_id'])
    sums = nova_db.checksum()
    r = run_module(FIP, dict(nova_db.params(), instance='old-vm', backup_dir=str(tmp_path)))
    assert r.failed and 'ambiguous' in r['msg'] and r['error_code'] == 'ambiguous_instance'
    assert sorted(c['uuid'] for c in r['candidates']) == sorted(
        [chapter_scenario['old']['uuid']] + [i['uuid'] for i in nova_db.rows('instances') if i['hostname'] == 'old-vm' and i['deleted'] == 0])
    assert nova_db.checksum() == sums
    # the uuid is never ambiguous
    r = run_module(FIP, dict(nova_db.params(), instance=chapter_scenario['old']['uuid'], backup_dir=str(tmp_path)))
    assert r['changed'] is True


def test_unknown_address_is_a_clear_error(chapter_scenario, nova_db, tmp_path):
    r = run_module(FIP, dict(nova_db.params(), address='198.51.100.7', backup_dir=str(tmp_path)))
    assert r.failed and r['msg'] == 'floating IP 198.51.100.7 does not exist in table floating_ips'


# ---------------------------------------------------------------------------------------------
# hostile input
# ---------------------------------------------------------------------------------------------

HOSTILE = ["x' OR '1'='1", '%', '_', "'; UPDATE floating_ips SET fixed_ip_id = NULL; -- ", 'a' * 5000, 'web01\x00',
           'old-vm\\', '\U0001F4A3']


@pytest.mark.parametrize('value', HOSTILE, ids=['or-1-1', 'percent', 'underscore', 'stacked', 'long', 'nul', 'backslash',
                                                'emoji'])
@pytest.mark.parametrize('key', ['instance', 'address'])
def test_hostile_input_changes_nothing(chapter_scenario, nova_db, tmp_path, value, key):
    sums = nova_db.checksum()
    r = run_module(FIP, dict(nova_db.params(), backup_dir=str(tmp_path), **{key: value}))
    assert r.failed and r['msg'] and 'Traceback' not in r.output, r
    assert len(r['msg']) < 400
    assert nova_db.checksum() == sums and os.listdir(str(tmp_path)) == []
    if key == 'instance':
        info = run_module(INFO, dict(nova_db.params('nova_ro'), instance=value))
        assert 'Traceback' not in info.output
        assert info.failed or (info['instance'] is None and codes(info['problems']) == ['instance_not_found']), info


def test_non_utf8_input_changes_nothing(chapter_scenario, nova_db, tmp_path):
    """Bytes that are not UTF-8, given on the real controller (``-a $'instance=old-vm\\xff\\xfe ...'``)."""
    sums = nova_db.checksum()
    p = nova_db.params()
    for raw in (b'instance=old-vm\xff\xfe', b'address=203.0.113.30\xff'):
        r = run_adhoc(FIP, None, raw_a=raw + b' backup_dir=' + str(tmp_path).encode() + b' login_unix_socket='
                      + p['login_unix_socket'].encode() + b' login_user=nova login_password=' + p['login_password'].encode())
        # ansible-core itself refuses to hand such text to a module: one message, no traceback
        assert r.rc != 0 and 'Traceback' not in r.output, r
        assert "can't encode" in r.output and 'surrogates not allowed' in r.output, r.output
        assert p['login_password'] not in r.output
    # what a lenient decoder makes of them (U+FFFD) reaches the module and is refused before any SQL
    r = run_module(FIP, dict(p, instance='old-vm\ufffd\ufffd', backup_dir=str(tmp_path)))
    assert r.failed and 'not valid UTF-8' in r['msg'] and 'Traceback' not in r.output, r
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='old-vm\ufffd'))
    assert r.failed and 'not valid UTF-8' in r['msg'], r
    assert nova_db.checksum() == sums and os.listdir(str(tmp_path)) == []


def test_sql_metacharacters_in_real_names_match_exactly(chapter_scenario, nova_db, tmp_path):
    """Instances really named '%' or "x' OR '1'='1" are found, and only they."""
    net = chapter_scenario['network_id']
    pct = nova_db.attached_instance('%', '10.0.2.70', '203.0.113.70', network_id=net)
    nova_db.execute("UPDATE instances SET deleted = id, vm_state = 'deleted' WHERE id = %s", (pct['id'],))
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance='%'))
    assert r['instance']['uuid'] == pct['uuid'] and len(r['matches']) == 1
    r = run_module(FIP, dict(nova_db.params(), instance='%', backup_dir=str(tmp_path)))
    assert r['changed'] is True and [c['address'] for c in r['plan']['changes']] == ['203.0.113.70']
    assert nova_db.row('floating_ips', chapter_scenario['old']['floating_ip_id'])['fixed_ip_id'] is not None
    # a live instance really named "x' OR '1'='1" is found alone, and its floating IP refused as in use
    inj = nova_db.attached_instance("x' OR '1'='1", '10.0.2.71', '203.0.113.71', network_id=net)
    r = run_module(INFO, dict(nova_db.params('nova_ro'), instance="x' OR '1'='1"))
    assert r['instance']['uuid'] == inj['uuid'] and [m['uuid'] for m in r['matches']] == [inj['uuid']]
    sums = nova_db.checksum()
    r = run_module(FIP, dict(nova_db.params(), instance="x' OR '1'='1", backup_dir=str(tmp_path)))
    assert r.failed and [c['address'] for c in r['plan']['refused']] == ['203.0.113.71'] and nova_db.checksum() == sums, r


# ---------------------------------------------------------------------------------------------
# killed connection, concurrency
# ---------------------------------------------------------------------------------------------

def _connections(server, user=None):
    conn = server.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            if user:
                cur.execute('SELECT id, state, info FROM information_schema.processlist WHERE user = %s', (user,))
            else:
                cur.execute('SELECT id, state, info FROM information_schema.processlist WHERE id <> CONNECTION_ID()')
            return cur.fetchall()
    finally:
        conn.close()


def _nova_connections(server):
    return _connections(server, 'nova')


def test_connection_killed_after_update_before_commit_leaves_rows(chapter_scenario, nova_db, mariadb_server, tmp_path):
    """A real mid-transaction kill: a trigger makes the module's UPDATE wait on a user lock the test
    holds, so the row is already changed inside the module's transaction when the test KILLs it."""
    root = mariadb_server.connect('nova', autocommit=True)
    try:
        with root.cursor() as cur:
            cur.execute("SELECT GET_LOCK('netdiag_test_pause', 5)")
            assert cur.fetchone()[0] == 1
            cur.execute("CREATE TRIGGER netdiag_test_pause AFTER UPDATE ON floating_ips FOR EACH ROW"
                        " SET @netdiag_pause = GET_LOCK('netdiag_test_pause', 60)")
        sums = nova_db.checksum()
        before = all_rows(nova_db)
        proc, path = start_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path)))
        try:
            # inside the trigger the processlist shows the trigger's definer (root), so look for the lock wait
            busy = wait_for(lambda: [c for c in _connections(mariadb_server) if c[1] == 'User lock' and c[2] and 'netdiag_test_pause' in c[2]],
                            'the module to run its UPDATE')
            with root.cursor() as cur:
                cur.execute('KILL CONNECTION %s', (busy[0][0],))
        finally:
            r = finish_module(proc, path)
        assert r.failed and 'Traceback' not in r.output, r
        assert 'connection' in r['msg'] and 'nothing changed' in r['msg'], r['msg']
        assert nova_db.checksum() == sums and all_rows(nova_db) == before
        # the backup was written before the UPDATE and names the unchanged rows
        assert r['backup_path'] in r['msg'] and os.path.exists(r['backup_path'])
    finally:
        with root.cursor() as cur:
            cur.execute('DROP TRIGGER IF EXISTS netdiag_test_pause')
            cur.execute("DO RELEASE_LOCK('netdiag_test_pause')")
        root.close()
    # and the repair still works afterwards
    assert run_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path)))['changed'] is True


def test_connection_killed_while_waiting_for_the_row_lock(chapter_scenario, nova_db, mariadb_server, tmp_path):
    with row_locked(mariadb_server) as holder:
        sums = nova_db.checksum()
        proc, path = start_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path)))
        try:
            waiting = wait_for(lambda: [c for c in _nova_connections(mariadb_server) if c[2] and 'FOR UPDATE' in c[2]],
                               'the module to wait for the row lock')
            with holder.cursor() as cur:
                cur.execute('KILL %s', (waiting[0][0],))
        finally:
            r = finish_module(proc, path)
    assert r.failed and 'Traceback' not in r.output and 'nothing changed' in r['msg'], r
    assert nova_db.checksum() == sums and os.listdir(str(tmp_path)) == []


def test_lock_timeout_is_a_clear_error(chapter_scenario, nova_db, mariadb_server, tmp_path):
    with row_locked(mariadb_server, live_only=False):
        r = run_module(FIP, dict(nova_db.params(), address='203.0.113.30', lock_timeout=1, backup_dir=str(tmp_path)))
    assert r.failed and r['error_code'] == 'lock_timeout' and 'nothing changed' in r['msg'], r


def test_two_repairs_at_once_one_changes(chapter_scenario, nova_db, mariadb_server, tmp_path):
    """Both processes are started while the test holds the row lock, so both are inside their
    transaction, blocked on SELECT ... FOR UPDATE, when the lock is released: a real race."""
    runs = []
    with row_locked(mariadb_server, live_only=False):
        for dummy in range(2):
            runs.append(start_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path))))
        wait_for(lambda: len([c for c in _nova_connections(mariadb_server) if c[2] and 'FOR UPDATE' in c[2]]) == 2,
                 'both modules to wait for the row lock')
    results = [finish_module(p, a) for p, a in runs]
    assert all(not r.failed for r in results), results
    assert sorted(r['changed'] for r in results) == [False, True]
    assert len(os.listdir(str(tmp_path))) == 1
    assert nova_db.row('floating_ips', chapter_scenario['old']['floating_ip_id'])['fixed_ip_id'] is None


# ---------------------------------------------------------------------------------------------
# database errors: one clear message each, no traceback, no password
# ---------------------------------------------------------------------------------------------

def _clean_failure(r, *secrets):
    assert r.failed, r
    assert 'Traceback' not in r.output, r.output
    for s in secrets:
        assert s not in r.output, 'password leaked'
    return r['msg']


def test_db_down(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('needs root')
    server = MariaDB(str(tmp_path / 'down'))
    server.start()
    params = dict(server.conn_params)
    password = params['login_password']
    server.stop()
    try:
        for p in (dict(params, login_unix_socket=None), params):
            for mod, extra in ((INFO, {'audit': True}), (FIP, {'address': '203.0.113.30', 'backup_dir': str(tmp_path / 'b')})):
                msg = _clean_failure(run_module(mod, dict(p, connect_timeout=5, **extra)), password)
                assert msg.startswith('cannot connect to the nova database at ') and 'down or unreachable' in msg, msg
    finally:
        server.destroy()


def test_wrong_password(chapter_scenario, nova_db, tmp_path):
    bad = 'Not-The-Password-123'
    for mod, extra in ((INFO, {'audit': True}), (FIP, {'address': '203.0.113.30', 'backup_dir': str(tmp_path)})):
        msg = _clean_failure(run_module(mod, dict(nova_db.params(login_password=bad), **extra)), bad)
        where = 'socket %s' % nova_db.params()['login_unix_socket']
        assert msg == 'access denied for user nova at %s: wrong user name or password' % where, msg


def test_missing_table(chapter_scenario, nova_db, mariadb_server, partial_db, tmp_path):
    root = dict(mariadb_server.conn_params, login_db=partial_db)
    msg = _clean_failure(run_module(INFO, dict(root, audit=True)), root['login_password'])
    assert 'floating_ips' in msg and "doesn't exist" in msg and 'nova cell database' in msg, msg
    msg = _clean_failure(run_module(FIP, dict(root, address='203.0.113.30', backup_dir=str(tmp_path))), root['login_password'])
    assert 'floating_ips' in msg, msg
    assert os.listdir(str(tmp_path)) == []


def test_read_only_user(chapter_scenario, nova_db, tmp_path):
    ro = nova_db.params('nova_ro')
    sums = nova_db.checksum()
    msg = _clean_failure(run_module(FIP, dict(ro, address='203.0.113.30', backup_dir=str(tmp_path))), ro['login_password'])
    assert 'nova_ro' in msg and 'read-only' in msg and 'nothing changed' in msg, msg
    assert nova_db.checksum() == sums
    # the check mode plan works with the read-only account
    r = run_module(FIP, dict(ro, address='203.0.113.30', backup_dir=str(tmp_path)), check=True)
    assert not r.failed and r['changed'] is True


def test_errors_through_ansible_keep_the_password_out_of_output_and_log(chapter_scenario, nova_db, tmp_path):
    log = str(tmp_path / 'ansible.log')
    bad = 'Wr0ng-Pa55word-xyz'
    r = run_adhoc(INFO, dict(nova_db.params(login_password=bad), audit=True), log_path=log)
    assert r.rc != 0 and 'access denied for user nova' in r.output and 'Traceback' not in r.output, r
    good = nova_db.params()['login_password']
    r2 = run_adhoc(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path / 'b')),
                   extra=['--check', '--diff'], log_path=log)
    assert r2.rc == 0 and '203.0.113.30' in r2.output, r2
    with open(log) as f:
        text = f.read()
    for secret in (bad, good):
        assert secret not in r.output and secret not in r2.output and secret not in text
    assert glob.glob(str(tmp_path / 'b' / '*')) == []


# ---------------------------------------------------------------------------------------------
# data plane against the DB
# ---------------------------------------------------------------------------------------------

NOVA_NAT = """# Generated by iptables-save v1.8.9 on Wed Nov 25 20:00:00 2026
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:nova-network-OUTPUT - [0:0]
:nova-network-PREROUTING - [0:0]
:nova-network-float-snat - [0:0]
:nova-network-snat - [0:0]
-A PREROUTING -j nova-network-PREROUTING
-A OUTPUT -j nova-network-OUTPUT
-A POSTROUTING -j nova-network-snat
-A nova-network-OUTPUT -d 203.0.113.30/32 -j DNAT --to-destination 10.0.2.24
-A nova-network-OUTPUT -d 203.0.113.31/32 -j DNAT --to-destination 10.0.2.23
-A nova-network-PREROUTING -d 203.0.113.30/32 -j DNAT --to-destination 10.0.2.24
-A nova-network-PREROUTING -d 203.0.113.31/32 -j DNAT --to-destination 10.0.2.23
-A nova-network-float-snat -s 10.0.2.24/32 -j SNAT --to-source 203.0.113.30
-A nova-network-float-snat -s 10.0.2.23/32 -j SNAT --to-source 203.0.113.31
-A nova-network-snat -j nova-network-float-snat
-A nova-network-snat -s 10.0.2.0/24 -o eth0 -j SNAT --to-source 203.0.113.34
COMMIT
"""


def test_nat_check_before_and_after_the_repair(chapter_scenario, nova_db, tmp_path):
    ro = nova_db.params('nova_ro')
    r = run_module(INFO, dict(ro, nat_host='compute1', iptables_save=NOVA_NAT))
    assert not r.failed, r
    assert r['nat_check']['findings'] == [] and sorted(o['address'] for o in r['nat_check']['ok']) == ['203.0.113.30', '203.0.113.31']
    run_module(FIP, dict(nova_db.params(), address='203.0.113.30', backup_dir=str(tmp_path)))
    r = run_module(INFO, dict(ro, nat_host='compute1', iptables_save=NOVA_NAT))
    assert [(f['code'], f['object']) for f in r['nat_check']['findings']] == [('nat_without_association', '203.0.113.30')]
    # the same through nat_rules (the parsed shape), and a host with no rules at all
    rules = [{'target': 'DNAT', 'destination': '203.0.113.31/32', 'to_destination': '10.0.2.23'}]
    r = run_module(INFO, dict(ro, nat_host='compute1', nat_rules=rules))
    assert [(f['code'], f['object']) for f in r['nat_check']['findings']] == [('association_without_snat', '203.0.113.31')]
    # a host without any NAT rule: the association still in the DB lacks both
    r = run_module(INFO, dict(ro, nat_host='compute1', nat_rules=[]))
    assert sorted((f['code'], f['object']) for f in r['nat_check']['findings']) == [
        ('association_without_dnat', '203.0.113.31'), ('association_without_snat', '203.0.113.31')], r


def test_nat_check_from_iptables_info_result_and_bad_input(chapter_scenario, nova_db):
    from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import parse_save
    ro = nova_db.params('nova_ro')
    r = run_module(INFO, dict(ro, nat_host='compute1', iptables=parse_save(NOVA_NAT)))
    assert not r.failed and r['nat_check']['findings'] == [], r
    # compute2 runs db02 without a floating IP and has none of these rules
    r = run_module(INFO, dict(ro, nat_host='compute2', iptables_save=NOVA_NAT))
    assert sorted(f['object'] for f in r['nat_check']['findings']) == ['203.0.113.30', '203.0.113.31']
    assert set(f['code'] for f in r['nat_check']['findings']) == {'nat_without_association'}
    r = run_module(INFO, dict(ro, nat_host='compute1', iptables_save='this is not iptables output'))
    assert r.failed and 'iptables_save is not iptables-save output' in r['msg'] and 'Traceback' not in r.output


def test_server_killed_mid_repair_recovers_the_rows(tmp_path):
    """SIGKILL the whole server while the module's UPDATE is inside its transaction (held by a test
    trigger on a user lock), start it again: InnoDB crash recovery must give back the old rows."""
    if os.geteuid() != 0:
        pytest.skip('needs root')
    server = MariaDB(str(tmp_path / 'crash'))
    try:
        server.start()
        server.create_database('nova', DDL)
        server.create_user('nova', NOVA_PASSWORD)
        db = NovaRows(server)
        sc = build_chapter_scenario(db)
        sums = db.checksum()
        db.close()
        root = server.connect('nova', autocommit=True)
        with root.cursor() as cur:
            cur.execute("SELECT GET_LOCK('netdiag_test_pause', 5)")
            cur.execute("CREATE TRIGGER netdiag_test_pause AFTER UPDATE ON floating_ips FOR EACH ROW"
                        " SET @netdiag_pause = GET_LOCK('netdiag_test_pause', 60)")
        proc, path = start_module(FIP, dict(db.params(), address='203.0.113.30', backup_dir=str(tmp_path / 'b')))
        try:
            wait_for(lambda: [c for c in _connections(server) if c[1] == 'User lock' and c[2] and 'netdiag_test_pause' in c[2]],
                     'the module to run its UPDATE')
            server.kill()
        finally:
            r = finish_module(proc, path)
        root.close()
        assert r.failed and 'Traceback' not in r.output and 'nothing changed' in r['msg'], r
        server.start()
        db = NovaRows(server)
        try:
            assert db.checksum() == sums
            assert db.row('floating_ips', sc['old']['floating_ip_id'])['fixed_ip_id'] == sc['old']['fixed_ip_id']
        finally:
            db.close()
    finally:
        server.destroy()
