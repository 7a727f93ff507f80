# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fill the lab's nova database from the topology, the way nova-network and nova-compute leave it.

networks: one row per network (multi_host: host NULL); fixed_ips: one row per address of each
network (nova-manage network create makes them all; network, gateway and broadcast reserved),
the compute nodes' own addresses associated to their host (multi_host dhcp_server), the
instances' addresses allocated and leased; instances, virtual_interfaces, floating_ips.
A terminated instance is left as nova leaves it after a failed floating IP disassociation:
instance and vif soft-deleted (deleted = id), its fixed IP deallocated but still naming the
instance, and its floating IP still pointing at that fixed IP.
"""

from __future__ import annotations

import datetime
import ipaddress

IMAGE_REF = '9e2b1f4c-6c2e-4b8e-8c1a-2f6d1e0c7b3a'


def _now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def insert_instance(cur, iid, uuid, hostname, display_name, host, project_id, user_id, created, deleted_at=None):
    """One ``instances`` row as nova-compute leaves it: active on ``host``, or, with ``deleted_at``, terminated and
    soft-deleted (``deleted = id``)."""
    deleted = deleted_at is not None
    cur.execute(
        'INSERT INTO instances (id, created_at, updated_at, deleted_at, deleted, uuid, hostname, display_name,'
        ' host, node, launched_on, vm_state, power_state, task_state, project_id, user_id, image_ref,'
        ' memory_mb, vcpus, root_gb, ephemeral_gb, instance_type_id, availability_zone, launched_at,'
        ' terminated_at, reservation_id, launch_index, locked, architecture, root_device_name, cleaned,'
        ' config_drive, os_type, hidden)'
        ' VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, %s, %s, 512, 1, 1, 0, 2,'
        " 'nova', %s, %s, %s, 0, 0, 'x86_64', '/dev/vda', %s, '', NULL, 0)",
        (iid, created, deleted_at or created, deleted_at, iid if deleted else 0, uuid, hostname, display_name, host, host, host,
         'deleted' if deleted else 'active', 0 if deleted else 1, project_id, user_id, IMAGE_REF, created, deleted_at,
         'r-%08x' % (iid * 7919 % 2 ** 32), 1 if deleted else 0))


def fill(db, model):
    """Insert every row; return {table: [ids]} of what was created."""
    now = _now()
    created = now - datetime.timedelta(days=3)
    conn = db.connect('nova', autocommit=False)
    rows = {'networks': [], 'instances': [], 'virtual_interfaces': [], 'fixed_ips': [], 'floating_ips': []}
    try:
        with conn.cursor() as cur:
            for net in model['networks'].values():
                iface = None
                for comp in model['computes'].values():
                    iface = comp['flat_interface'] or comp['vlan_interface']
                    break
                cur.execute(
                    'INSERT INTO networks (id, created_at, updated_at, deleted, injected, cidr, netmask, bridge, gateway,'
                    ' broadcast, dns1, vlan, dhcp_start, project_id, host, label, bridge_interface, multi_host, uuid,'
                    ' dhcp_server, enable_dhcp, share_address, mtu)'
                    ' VALUES (%s, %s, %s, 0, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, 0, NULL)',
                    (net['id'], created, created, net['cidr'], net['netmask'], net['bridge'], net['gateway'], net['broadcast'],
                     model['external']['servers'][0]['address'], net['vlan'], net['dhcp_start'],
                     net['project_id'] if model['vlan_mode'] else None, None if net['multi_host'] else list(model['computes'])[0],
                     net['label'], iface, 1 if net['multi_host'] else 0, net['uuid'], net['gateway']))
                rows['networks'].append(net['id'])
            for inst in model['instances'].values():
                deleted = inst['state'] == 'deleted'
                insert_instance(cur, inst['id'], inst['uuid'], inst['hostname'], inst['display_name'], inst['host'],
                                inst['project_id'], inst['user_id'], created, deleted_at=now if deleted else None)
                rows['instances'].append(inst['id'])
                cur.execute(
                    'INSERT INTO virtual_interfaces (created_at, updated_at, deleted_at, deleted, address, network_id,'
                    ' uuid, instance_uuid) VALUES (%s, %s, %s, 0, %s, %s, %s, %s)',
                    (created, created, None, inst['mac'], model['networks'][inst['network']]['id'], inst['vif_uuid'],
                     inst['uuid']))
                inst_vif = cur.lastrowid
                rows['virtual_interfaces'].append(inst_vif)
                if deleted:
                    cur.execute('UPDATE virtual_interfaces SET deleted = id, deleted_at = %s, updated_at = %s WHERE id = %s',
                                (now, now, inst_vif))
                inst['_vif_id'] = inst_vif
            fixed_ids = {}
            for net in model['networks'].values():
                cidr = ipaddress.IPv4Network(net['cidr'])
                reserved = {str(cidr.network_address), net['gateway'], str(cidr.broadcast_address)}
                hostaddr = {comp['networks'][net['label']]: cname for cname, comp in model['computes'].items()
                            if net['label'] in comp['networks']}
                by_addr = {i['fixed_ip']: i for i in model['instances'].values() if i['network'] == net['label']}
                values = []
                for addr in cidr:
                    a = str(addr)
                    inst = by_addr.get(a)
                    if inst is not None:
                        active = inst['state'] == 'active'
                        values.append((created, now, a, net['id'], 1 if active else 0, 1 if active else 0, 0,
                                       inst['_vif_id'], None, inst['uuid']))
                    elif a in hostaddr:
                        values.append((created, created, a, net['id'], 0, 0, 0, None, hostaddr[a], None))
                    else:
                        values.append((created, created, a, net['id'], 0, 0, 1 if a in reserved else 0, None, None, None))
                cur.executemany(
                    'INSERT INTO fixed_ips (created_at, updated_at, deleted, address, network_id, allocated, leased,'
                    ' reserved, virtual_interface_id, host, instance_uuid) VALUES (%s, %s, 0, %s, %s, %s, %s, %s, %s, %s, %s)',
                    values)
                cur.execute('SELECT id, address FROM fixed_ips WHERE network_id = %s AND deleted = 0'
                            ' AND (instance_uuid IS NOT NULL OR host IS NOT NULL)', (net['id'],))
                for fid, addr in cur.fetchall():
                    fixed_ids[addr] = fid
                    rows['fixed_ips'].append(fid)
            pool = model['floating_pool']['name']
            for inst in model['instances'].values():
                if not inst['floating_ip']:
                    continue
                pubif = model['computes'][inst['host']]['public_interface']
                cur.execute(
                    'INSERT INTO floating_ips (created_at, updated_at, deleted, address, fixed_ip_id, project_id, host,'
                    ' auto_assigned, pool, interface) VALUES (%s, %s, 0, %s, %s, %s, %s, 0, %s, %s)',
                    (created, created, inst['floating_ip'], fixed_ids[inst['fixed_ip']], inst['project_id'], inst['host'],
                     pool, pubif))
                rows['floating_ips'].append(cur.lastrowid)
            for addr in model['floating_pool']['free']:
                cur.execute(
                    'INSERT INTO floating_ips (created_at, updated_at, deleted, address, fixed_ip_id, project_id, host,'
                    ' auto_assigned, pool, interface) VALUES (%s, %s, 0, %s, NULL, NULL, NULL, 0, %s, %s)',
                    (created, created, addr, pool, list(model['computes'].values())[0]['public_interface']))
                rows['floating_ips'].append(cur.lastrowid)
        conn.commit()
    finally:
        conn.close()
    for inst in model['instances'].values():
        inst.pop('_vif_id', None)
    return rows
