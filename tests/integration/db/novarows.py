# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rows of the nova-network tables written the way nova writes them, for tests on a real MariaDB.

Used by conftest.py's fixtures and by tests that start a server of their own.
"""

from __future__ import annotations

import contextlib
import os
import uuid as uuidlib

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
DDL = os.path.join(REPO, 'lab', 'sql', 'nova_network_tables.sql')
TABLES = ('instances', 'networks', 'virtual_interfaces', 'fixed_ips', 'floating_ips')
NOVA_PASSWORD = 'nova-Secr3t-pw-4-tests'
RO_PASSWORD = 'ro-Secr3t-pw-4-tests'


class NovaRows(object):
    """Insert nova-network rows the way nova writes them, and read the tables back.

    Soft-deleted rows are inserted with ``deleted = NULL`` and then set to ``deleted = id`` (as nova's
    soft_delete does), so they never collide with a live row in the ``(address, deleted)`` unique keys.
    """

    def __init__(self, server, db='nova'):
        self.server = server
        self.db = db
        self.conn = server.connect(db, autocommit=True)

    # -- connection parameters, in the modules' option names
    def params(self, user='nova', **over):
        p = dict(self.server.conn_params)
        if user == 'nova':
            p.update(login_user='nova', login_password=NOVA_PASSWORD)
        elif user == 'nova_ro':
            p.update(login_user='nova_ro', login_password=RO_PASSWORD)
        p['login_db'] = self.db
        p.update(over)
        return p

    def close(self):
        self.conn.close()

    def execute(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.lastrowid

    def truncate(self):
        with self.conn.cursor() as cur:
            cur.execute('SET FOREIGN_KEY_CHECKS = 0')
            for t in TABLES:
                cur.execute('TRUNCATE TABLE `%s`' % t)
            cur.execute('SET FOREIGN_KEY_CHECKS = 1')

    def rows(self, table, order='id'):
        assert table in TABLES
        with self.conn.cursor() as cur:
            cur.execute('SELECT * FROM `%s` ORDER BY %s' % (table, order))
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def row(self, table, row_id):
        return [r for r in self.rows(table) if r['id'] == row_id][0]

    def checksum(self):
        """CHECKSUM TABLE of every table: equal before/after means nothing changed."""
        with self.conn.cursor() as cur:
            cur.execute('CHECKSUM TABLE ' + ', '.join('`%s`' % t for t in TABLES) + ' EXTENDED')
            return dict(cur.fetchall())

    # -- inserts
    def network(self, cidr='10.0.2.0/24', bridge='br100', label='private', vlan=None, host=None, multi_host=1,
                bridge_interface='eth1', gateway=None, project_id=None):
        net_prefix = cidr.rsplit('.', 1)[0]
        return self.execute(
            'INSERT INTO networks (created_at, injected, cidr, netmask, bridge, gateway, broadcast, dns1, vlan,'
            ' dhcp_start, project_id, host, label, bridge_interface, multi_host, uuid, deleted, mtu, enable_dhcp,'
            ' share_address) VALUES (NOW(), 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, NULL, 1, 0)',
            (cidr, '255.255.255.0', bridge, gateway or net_prefix + '.1', net_prefix + '.255', '8.8.4.4', vlan,
             net_prefix + '.2', project_id, host, label, bridge_interface, multi_host, str(uuidlib.uuid4())))

    def instance(self, hostname, host='compute1', vm_state='active', deleted=False, display_name=None,
                 project_id='tenant-a', uuid=None, power_state=None, task_state=None):
        uuid = uuid or str(uuidlib.uuid4())
        if power_state is None:
            power_state = 1 if vm_state == 'active' else 0
        iid = self.execute(
            'INSERT INTO instances (created_at, launched_at, user_id, project_id, image_ref, power_state, vm_state,'
            ' task_state, memory_mb, vcpus, hostname, host, node, display_name, uuid, launched_on, instance_type_id,'
            ' root_gb, ephemeral_gb, locked, cleaned, deleted) VALUES (NOW(), NOW(), %s, %s, %s, %s, %s, %s, 512, 1,'
            ' %s, %s, %s, %s, %s, %s, 1, 1, 0, 0, 0, 0)',
            ('user-1', project_id, str(uuidlib.uuid4()), power_state, vm_state, task_state, hostname, host,
             host, display_name if display_name is not None else hostname, uuid, host))
        if deleted:
            self.execute("UPDATE instances SET deleted = id, deleted_at = NOW(), terminated_at = NOW(),"
                         " vm_state = 'deleted', power_state = 0, cleaned = 1 WHERE id = %s", (iid,))
        return {'id': iid, 'uuid': uuid}

    def vif(self, instance_uuid, network_id, mac, deleted=False):
        vid = self.execute(
            'INSERT INTO virtual_interfaces (created_at, address, network_id, uuid, instance_uuid, deleted)'
            ' VALUES (NOW(), %s, %s, %s, %s, %s)', (mac, network_id, str(uuidlib.uuid4()), instance_uuid, None if deleted else 0))
        if deleted:
            self.execute('UPDATE virtual_interfaces SET deleted = id, deleted_at = NOW() WHERE id = %s', (vid,))
        return vid

    def fixed_ip(self, address, network_id, instance_uuid=None, vif_id=None, allocated=None, leased=None,
                 host=None, reserved=0, deleted=False):
        if allocated is None:
            allocated = 1 if instance_uuid else 0
        if leased is None:
            leased = allocated
        fid = self.execute(
            'INSERT INTO fixed_ips (created_at, address, network_id, allocated, leased, reserved,'
            ' virtual_interface_id, host, instance_uuid, deleted) VALUES (NOW(), %s, %s, %s, %s, %s, %s, %s, %s, %s)',
            (address, network_id, allocated, leased, reserved, vif_id, host, instance_uuid, None if deleted else 0))
        if deleted:
            self.execute('UPDATE fixed_ips SET deleted = id, deleted_at = NOW() WHERE id = %s', (fid,))
        return fid

    def floating_ip(self, address, fixed_ip_id=None, project_id=None, host=None, auto_assigned=0, pool='public',
                    interface='eth0', deleted=False):
        fid = self.execute(
            'INSERT INTO floating_ips (created_at, address, fixed_ip_id, project_id, host, auto_assigned, pool,'
            ' interface, deleted) VALUES (NOW(), %s, %s, %s, %s, %s, %s, %s, %s)',
            (address, fixed_ip_id, project_id, host, auto_assigned, pool, interface, None if deleted else 0))
        if deleted:
            self.execute('UPDATE floating_ips SET deleted = id, deleted_at = NOW() WHERE id = %s', (fid,))
        return fid

    def attached_instance(self, hostname, fixed, floating=None, network_id=None, host='compute1', mac=None, **kw):
        """An instance with one VIF, one allocated fixed IP and optionally a floating IP on it."""
        inst = self.instance(hostname, host=host, **kw)
        mac = mac or 'fa:16:3e:%02x:%02x:%02x' % (inst['id'] % 256, (inst['id'] * 7) % 256, (inst['id'] * 13) % 256)
        vif = self.vif(inst['uuid'], network_id, mac)
        fixed_id = self.fixed_ip(fixed, network_id, inst['uuid'], vif, host=host)
        inst.update(vif_id=vif, mac=mac, fixed_ip_id=fixed_id, fixed=fixed, host=host)
        if floating:
            inst['floating_ip_id'] = self.floating_ip(floating, fixed_id, project_id=kw.get('project_id', 'tenant-a'),
                                                      host=host)
            inst['floating'] = floating
        return inst


def build_chapter_scenario(db):
    """Insert the chapter's stale floating IP, next to healthy rows, and return their ids.

    - network br100 10.0.2.0/24 (FlatDHCP, multi_host), pool of floating IPs in 203.0.113.0/24;
    - ``web01`` on compute1, active, fixed 10.0.2.23, floating 203.0.113.31 (healthy);
    - ``old-vm`` on compute1 was terminated (instances.deleted = id, vm_state deleted, VIF
      soft-deleted, fixed IP 10.0.2.24 deallocated but still naming the instance, as nova-network
      leaves it until fixed_ip_disassociate_timeout) but the floating IP 203.0.113.30 is still
      associated with that fixed IP (the chapter's addresses and case);
    - ``db02`` on compute2, active, fixed 10.0.2.25, no floating IP;
    - free floating IPs 203.0.113.40 (in tenant-a's pool) and 203.0.113.41 (unallocated);
    - an old soft-deleted floating IP row for 203.0.113.30 (deleted = id), as nova leaves them.
    """
    net = db.network()
    web = db.attached_instance('web01', '10.0.2.23', '203.0.113.31', network_id=net)
    old = db.attached_instance('old-vm', '10.0.2.24', '203.0.113.30', network_id=net)
    # what nova did when old-vm was deleted: instance soft-deleted, VIF soft-deleted, fixed IP deallocated
    # (allocated = leased = 0; instance_uuid is cleared only later by fixed_ip_disassociate_timeout) ...
    db.execute("UPDATE instances SET deleted = id, deleted_at = NOW(), terminated_at = NOW(), vm_state = 'deleted',"
               " power_state = 0 WHERE id = %s", (old['id'],))
    db.execute('UPDATE virtual_interfaces SET deleted = id, deleted_at = NOW() WHERE id = %s', (old['vif_id'],))
    db.execute('UPDATE fixed_ips SET allocated = 0, leased = 0, updated_at = NOW() WHERE id = %s', (old['fixed_ip_id'],))
    # ... and what it failed to do: floating_ips row 203.0.113.30 still points at the fixed IP
    db2 = db.attached_instance('db02', '10.0.2.25', network_id=net, host='compute2')
    free_pool = db.floating_ip('203.0.113.40', project_id='tenant-a')
    free = db.floating_ip('203.0.113.41')
    gone = db.floating_ip('203.0.113.30', deleted=True)
    spare = db.fixed_ip('10.0.2.26', net)
    return {'network_id': net, 'web': web, 'old': old, 'db2': db2, 'free_pool_fip': free_pool,
            'free_fip': free, 'deleted_fip': gone, 'spare_fixed': spare}


@contextlib.contextmanager
def row_locked(server, address='203.0.113.30', live_only=True):
    """A second connection that holds the row lock of floating IP ``address`` (BEGIN; SELECT ... FOR UPDATE)
    for the duration of the block, then rolls back; yields that connection (to KILL from it, for example)."""
    holder = server.connect('nova')
    try:
        with holder.cursor() as cur:
            cur.execute('BEGIN')
            cur.execute('SELECT id FROM floating_ips WHERE address = %s' + (' AND deleted = 0' if live_only else '') + ' FOR UPDATE',
                        (address,))
        yield holder
    finally:
        holder.rollback()
        holder.close()
