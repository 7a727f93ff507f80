# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The private MariaDB and the real nova DDL behave as nova's own database does."""

from __future__ import annotations

import pymysql
import pytest

pytestmark = pytest.mark.lab


def test_tables_and_foreign_keys(nova_db):
    with nova_db.conn.cursor() as cur:
        cur.execute('SHOW TABLES')
        tables = sorted(r[0] for r in cur.fetchall())
        assert tables == ['fixed_ips', 'floating_ips', 'instances', 'networks', 'virtual_interfaces']
        # fixed_ips.instance_uuid -> instances.uuid is enforced (real FK from nova's migrations)
        with pytest.raises(pymysql.err.IntegrityError):
            cur.execute("INSERT INTO fixed_ips (address, instance_uuid, deleted) VALUES ('10.9.9.9', 'no-such-uuid', 0)")


def test_chapter_scenario_rows(chapter_scenario, nova_db):
    old = nova_db.row('instances', chapter_scenario['old']['id'])
    assert old['deleted'] == old['id'] and old['vm_state'] == 'deleted' and old['deleted_at'] is not None
    fip = nova_db.row('floating_ips', chapter_scenario['old']['floating_ip_id'])
    assert fip['fixed_ip_id'] == chapter_scenario['old']['fixed_ip_id'] and fip['deleted'] == 0
    gone = nova_db.row('floating_ips', chapter_scenario['deleted_fip'])
    assert gone['address'] == fip['address'] and gone['deleted'] == gone['id']


def test_read_only_user_cannot_update(nova_db, mariadb_server):
    p = nova_db.params('nova_ro')
    conn = pymysql.connect(unix_socket=p['login_unix_socket'], user=p['login_user'], password=p['login_password'],
                           database='nova')
    try:
        with conn.cursor() as cur:
            with pytest.raises(pymysql.err.OperationalError) as err:
                cur.execute('UPDATE floating_ips SET host = NULL')
            assert err.value.args[0] == 1142
    finally:
        conn.close()
