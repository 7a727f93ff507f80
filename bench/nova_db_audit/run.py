#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the nova DB audit on a cloud-sized database, against reading the whole tables.

A private MariaDB (lab/mariadb.py) gets the real nova tables and a synthetic nova-network history:
N networks of /18 (nova-manage creates one fixed_ips row per address), live instances with a fixed
IP, many deleted instances (soft-deleted, VIF soft-deleted, fixed IP disassociated as after
fixed_ip_disassociate_timeout), a floating pool with associations, and a few stale floating IPs.

In the same run it measures:

* baseline: ``SELECT`` of the five tables in full through PyMySQL (what an audit reading whole
  tables costs), then the audit over those rows;
* ``_novadb.load_tables`` (only the rows that can matter) then the same audit.

Prints rows read, wall times and the ratio, and checks that both find the same findings.
Needs root (the private mariadbd runs with --user=root). Usage:
``python bench/nova_db_audit/run.py [--networks 4] [--deleted 20000] [--keep]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shutil
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, '.venv', 'collections'))

from lab.mariadb import MariaDB  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.cloudops.netdiag.plugins.module_utils import _novadb as novadb  # noqa: E402  pylint: disable=wrong-import-position

DDL = os.path.join(REPO, 'lab', 'sql', 'nova_network_tables.sql')


def fill(conn, networks, live, deleted, floating, stale):
    cur = conn.cursor()
    fixed_by_net = []
    for n in range(networks):
        cidr = ipaddress.ip_network('10.%d.0.0/18' % (64 * n % 256 + n // 4))
        cur.execute("INSERT INTO networks (created_at, cidr, netmask, bridge, gateway, label, multi_host, deleted, uuid)"
                    " VALUES (NOW(), %s, '255.255.192.0', %s, %s, %s, 1, 0, %s)",
                    (str(cidr), 'br%d' % (100 + n), str(cidr.network_address + 1), 'net%d' % n, str(uuid.uuid4())))
        net_id = cur.lastrowid
        rows = [(str(a), net_id) for a in cidr.hosts()]
        cur.executemany('INSERT INTO fixed_ips (created_at, address, network_id, allocated, leased, reserved, deleted)'
                        ' VALUES (NOW(), %s, %s, 0, 0, 0, 0)', rows)
        cur.execute('SELECT id, address FROM fixed_ips WHERE network_id = %s ORDER BY id', (net_id,))
        fixed_by_net.append((net_id, cur.fetchall()))
    # all fixed ids round robin over networks
    pool = [f for pair in zip(*[fx for dummy, fx in fixed_by_net]) for f in pair]
    net_of = dict((f[0], nid) for nid, fx in fixed_by_net for f in fx)
    total = live + deleted
    insts = [(str(uuid.uuid4()), i) for i in range(total)]
    cur.executemany("INSERT INTO instances (created_at, uuid, hostname, display_name, host, node, project_id, vm_state,"
                    " power_state, deleted) VALUES (NOW(), %s, %s, %s, %s, %s, 'p1', 'active', 1, 0)",
                    [(u, 'vm%d' % i, 'vm%d' % i, 'compute%d' % (i % 50), 'compute%d' % (i % 50)) for u, i in insts])
    cur.executemany('INSERT INTO virtual_interfaces (created_at, address, network_id, uuid, instance_uuid, deleted)'
                    ' VALUES (NOW(), %s, %s, %s, %s, 0)',
                    [('fa:16:3e:%02x:%02x:%02x' % (i >> 16 & 255, i >> 8 & 255, i & 255), net_of[pool[i][0]], str(uuid.uuid4()), u)
                     for u, i in insts])
    cur.execute('SELECT instance_uuid, id FROM virtual_interfaces')
    vif_of = dict(cur.fetchall())
    cur.executemany('UPDATE fixed_ips SET instance_uuid = %s, virtual_interface_id = %s, allocated = 1, leased = 1,'
                    ' host = %s WHERE id = %s', [(u, vif_of[u], 'compute%d' % (i % 50), pool[i][0]) for u, i in insts[:live]])
    # deleted instances: soft-deleted, vif soft-deleted, fixed IP disassociated; the first `stale` keep their floating IP
    cur.execute("UPDATE instances SET deleted = id, deleted_at = NOW(), terminated_at = NOW(), vm_state = 'deleted'"
                ' WHERE id > %s', (live,))
    cur.execute('UPDATE virtual_interfaces SET deleted = id, deleted_at = NOW() WHERE id > %s', (live,))
    stale_rows = insts[live:live + stale]
    cur.executemany('UPDATE fixed_ips SET instance_uuid = %s, allocated = 0, leased = 0 WHERE id = %s',
                    [(u, pool[i][0]) for u, i in stale_rows])
    fl = []
    for k in range(floating):
        addr = str(ipaddress.ip_address('198.18.0.0') + k)  # RFC 2544 benchmarking range: rows only, never configured
        fixed_id = pool[k][0] if k < min(live, floating * 3 // 4) else None
        fl.append((addr, fixed_id, 'p1' if fixed_id else None, 'compute%d' % (k % 50) if fixed_id else None))
    for j, (u, i) in enumerate(stale_rows):
        fl.append((str(ipaddress.ip_address('198.19.255.0') + j), pool[i][0], 'p1', 'compute%d' % (i % 50)))
    cur.executemany("INSERT INTO floating_ips (created_at, address, fixed_ip_id, project_id, host, auto_assigned, pool,"
                    " interface, deleted) VALUES (NOW(), %s, %s, %s, %s, 0, 'public', 'eth0', 0)", fl)
    conn.commit()


def full_read(conn):
    out = {}
    with conn.cursor() as cur:
        for table, cols in (('instances', novadb.INSTANCE_COLUMNS), ('fixed_ips', novadb.FIXED_IP_COLUMNS),
                            ('floating_ips', novadb.FLOATING_IP_COLUMNS), ('networks', novadb.NETWORK_COLUMNS),
                            ('virtual_interfaces', novadb.VIF_COLUMNS)):
            cur.execute('SELECT %s FROM %s' % (', '.join(cols), table))
            out[table] = [novadb.row_dict(cols, r) for r in cur.fetchall()]
    conn.rollback()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--networks', type=int, default=4)
    ap.add_argument('--live', type=int, default=3000)
    ap.add_argument('--deleted', type=int, default=20000)
    ap.add_argument('--floating', type=int, default=2000)
    ap.add_argument('--stale', type=int, default=25)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    base = tempfile.mkdtemp(prefix='netdiag-bench-novadb-')
    server = MariaDB(os.path.join(base, 'mariadb'))
    try:
        server.start()
        server.create_database('nova', DDL)
        conn = server.connect('nova')
        t0 = time.monotonic()
        fill(conn, args.networks, args.live, args.deleted, args.floating, args.stale)
        print('filled in %.1f s' % (time.monotonic() - t0))
        params = dict(server.conn_params, login_unix_socket=server.socket)
        base_t, ours_t = [], []
        for dummy in range(args.repeat):
            c = novadb.connect(params)
            t = time.monotonic()
            full = full_read(c)
            res_full = novadb.audit(full)
            base_t.append(time.monotonic() - t)
            t = time.monotonic()
            data = novadb.load_tables(c, params)
            res = novadb.audit(data)
            ours_t.append(time.monotonic() - t)
            c.close()
        same = [(f['code'], f['object']) for f in res['findings']] == [(f['code'], f['object']) for f in res_full['findings']]
        print('rows in the tables: %s' % dict((t, len(v)) for t, v in full.items()))
        print('rows read by load_tables: %s' % res['summary']['rows_read'])
        print('findings: %d (%s), same as over the whole tables: %s' % (res['summary']['findings'], res['summary']['by_code'], same))
        b, o = min(base_t), min(ours_t)
        print('best of %d: whole tables + audit %.3f s, load_tables + audit %.3f s, ratio %.1fx' % (args.repeat, b, o, b / o))
        return 0 if same else 1
    finally:
        if args.keep:
            print('kept', base)
        else:
            server.destroy()
            shutil.rmtree(base, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
