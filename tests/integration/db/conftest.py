# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for tests against a REAL private MariaDB with the real nova schema.

``mariadb_server`` (session): one private mariadbd (lab/mariadb.py) under pytest's tmp dir, the
database ``nova`` loaded from lab/sql/nova_network_tables.sql, and three accounts:
``nova`` (SELECT, INSERT, UPDATE, DELETE on nova.*, what nova itself has), ``nova_ro`` (SELECT only)
and root. Always stopped and removed at the end of the session.

``nova_db`` (function): the five tables emptied, and a :class:`NovaRows` helper to insert
realistic rows (soft delete as nova does it: ``deleted = id`` and ``deleted_at`` set).

``chapter_scenario`` (function): the chapter's case, "an instance was terminated but its floating
IP was not released", next to healthy neighbours that must stay untouched.
"""

from __future__ import annotations

import os

import pytest

from lab.mariadb import MariaDB
from novarows import DDL, NOVA_PASSWORD, RO_PASSWORD, NovaRows, build_chapter_scenario


def _require_root():
    if os.geteuid() != 0:
        pytest.skip('the private MariaDB runs with --user=root and needs root')


@pytest.fixture(scope='session')
def mariadb_server(tmp_path_factory):
    _require_root()
    server = MariaDB(str(tmp_path_factory.mktemp('mariadb')))
    try:
        server.start()
        server.create_database('nova', DDL)
        server.create_user('nova', NOVA_PASSWORD)
        server.create_user('nova_ro', RO_PASSWORD, grants=['SELECT ON nova.*'])
        yield server
    finally:
        server.destroy()


@pytest.fixture
def nova_db(mariadb_server):
    rows = NovaRows(mariadb_server)
    rows.truncate()
    try:
        yield rows
    finally:
        rows.close()


@pytest.fixture
def chapter_scenario(nova_db):
    """The chapter's stale floating IP next to healthy rows (see build_chapter_scenario)."""
    return build_chapter_scenario(nova_db)


@pytest.fixture
def partial_db(mariadb_server):
    """A database with instances and fixed_ips but no floating_ips table."""
    mariadb_server.create_database('nova_partial')
    conn = mariadb_server.connect('nova_partial', autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE TABLE instances LIKE nova.instances')
            cur.execute('CREATE TABLE fixed_ips LIKE nova.fixed_ips')
    finally:
        conn.close()
    try:
        yield 'nova_partial'
    finally:
        conn = mariadb_server.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute('DROP DATABASE nova_partial')
        finally:
            conn.close()
