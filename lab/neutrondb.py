# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fill the lab's neutron database from an OVN topology, the way neutron-server leaves it.

One ``standardattributes`` row per resource (its ``resource_type`` and revision), then per network its row
(status ACTIVE, the MTU), its geneve segment, its subnet (DHCP on), the project's ``default`` security group with
Neutron's four default rules, and per instance its port (device_owner ``compute:nova``, device_id the instance
uuid, status ACTIVE), its fixed IP allocation, its ML2 binding (host = the compute node, vif_type ``ovs``, the
vif_details ML2/OVN writes), the binding level of the geneve segment, and its security group binding. Every
id is the one the data plane uses (the logical switch and port names of the OVN NB DB).
"""

from __future__ import annotations

import datetime
import json

from lab.novadb import insert_instance

VIF_DETAILS = {'port_filter': True, 'connectivity': 'l2', 'bridge_name': 'br-int', 'datapath_type': 'netdev'}
# what the openvswitch mechanism driver writes for the iptables_hybrid firewall
VIF_DETAILS_HYBRID = dict(VIF_DETAILS, ovs_hybrid_plug=True)
DRIVER = {'ovn': 'ovn', 'ml2ovs': 'openvswitch'}


def vif_details(model):
    return VIF_DETAILS_HYBRID if model.get('backend') == 'ml2ovs' else VIF_DETAILS


def _now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def fill(db, model, uuid_of):
    """Insert every row; return {table: [ids]}. ``uuid_of(kind, key)`` derives the ids the model has not."""
    now = _now()
    conn = db.connect('neutron', autocommit=False)
    rows = {}

    def std(cur, rtype, description=''):
        cur.execute('INSERT INTO standardattributes (resource_type, created_at, updated_at, description, revision_number)'
                    ' VALUES (%s, %s, %s, %s, 1)', (rtype, now, now, description))
        return cur.lastrowid

    def add(table, key):
        rows.setdefault(table, []).append(key)
    try:
        with conn.cursor() as cur:
            sgs, segs = {}, {}
            for net in model['networks'].values():
                proj = net['project_id']
                cur.execute('INSERT INTO networks (project_id, id, name, status, admin_state_up, mtu, standard_attr_id)'
                            ' VALUES (%s, %s, %s, %s, 1, %s, %s)', (proj, net['id'], net['name'], 'ACTIVE', net['mtu'], std(cur, 'networks')))
                add('networks', net['id'])
                seg = uuid_of('segment', net['name'])
                cur.execute('INSERT INTO networksegments (id, network_id, network_type, physical_network, segmentation_id, is_dynamic,'
                            ' segment_index, standard_attr_id) VALUES (%s, %s, %s, NULL, %s, 0, 0, %s)',
                            (seg, net['id'], net.get('network_type') or 'geneve', net.get('segmentation_id', 1), std(cur, 'segments')))
                segs[net['name']] = seg
                add('networksegments', seg)
                cur.execute('INSERT INTO subnets (project_id, id, name, network_id, ip_version, cidr, gateway_ip, enable_dhcp,'
                            ' standard_attr_id) VALUES (%s, %s, %s, %s, 4, %s, %s, 1, %s)',
                            (proj, net['subnet_id'], '%s-subnet' % net['name'], net['id'], net['cidr'], net['gateway'], std(cur, 'subnets')))
                add('subnets', net['subnet_id'])
                if proj not in sgs:
                    group = security_group(uuid_of, proj)
                    sg = group['id']
                    cur.execute('INSERT INTO securitygroups (project_id, id, name, standard_attr_id, stateful) VALUES (%s, %s, %s, %s, 1)',
                                (proj, sg, 'default', std(cur, 'securitygroups', 'Default security group')))
                    add('securitygroups', sg)
                    for r in group['rules']:
                        cur.execute('INSERT INTO securitygrouprules (project_id, id, security_group_id, remote_group_id, direction,'
                                    ' ethertype, protocol, port_range_min, port_range_max, remote_ip_prefix, standard_attr_id)'
                                    ' VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)',
                                    (proj, r['id'], sg, r['remote_group_id'], r['direction'], r['ethertype'], r['protocol'],
                                     r['port_range_min'], r['port_range_max'], r['remote_ip_prefix'], std(cur, 'securitygrouprules')))
                        add('securitygrouprules', r['id'])
                    sgs[proj] = sg
            for inst in model['instances'].values():
                net = model['networks'][inst['network']]
                pid = inst['port_id']
                _port(cur, std, add, net['project_id'], pid, net['id'], inst['mac'], 'compute:nova', inst['uuid'], inst['fixed_ip'],
                      net['subnet_id'], host=inst['host'], vif_type='ovs', vif_details=json.dumps(vif_details(model)))
                cur.execute('INSERT INTO ml2_port_binding_levels (port_id, host, level, driver, segment_id) VALUES (%s, %s, 0, %s, %s)',
                            (pid, inst['host'], DRIVER[model.get('backend') or 'ovn'], segs[net['name']]))
                cur.execute('INSERT INTO securitygroupportbindings (port_id, security_group_id) VALUES (%s, %s)',
                            (pid, sgs[net['project_id']]))
            for net in model['networks'].values():
                if net.get('metadata_port_id'):
                    # OVN's metadata port: distributed (a localport on every chassis), bound to no host, DOWN as Neutron shows it
                    _port(cur, std, add, net['project_id'], net['metadata_port_id'], net['id'], net['metadata_mac'], 'network:distributed',
                          net['ovnmeta'], net['metadata_ip'], net['subnet_id'], status='DOWN')
            if model.get('router'):
                _fill_router(cur, model, uuid_of, std, add)
            if model.get('backend') == 'ml2ovs':
                _fill_agents(cur, model, std, add, now)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return rows


def security_group(uuid_of, project):
    """The project's ``default`` security group: Neutron's four default rules (all egress, v4 and v6; ingress from the same
    group, v4 and v6) and the two every operator adds (ingress ICMP and ssh from anywhere). The OVN lab writes the same
    rules as its port group's ACLs."""
    sg = uuid_of('security_group', project)
    rules = []
    for k, (direction, ethertype, remote, proto, pmin, pmax, prefix) in enumerate((
            ('egress', 'IPv4', None, None, None, None, None), ('egress', 'IPv6', None, None, None, None, None),
            ('ingress', 'IPv4', sg, None, None, None, None), ('ingress', 'IPv6', sg, None, None, None, None),
            ('ingress', 'IPv4', None, 'icmp', None, None, '0.0.0.0/0'), ('ingress', 'IPv4', None, 'tcp', 22, 22, '0.0.0.0/0'))):
        rules.append({'id': uuid_of('security_group_rule', '%s/%d' % (project, k)), 'direction': direction, 'ethertype': ethertype,
                      'remote_group_id': remote, 'protocol': proto, 'port_range_min': pmin, 'port_range_max': pmax,
                      'remote_ip_prefix': prefix})
    return {'id': sg, 'name': 'default', 'rules': rules}


def _port(cur, std, add, project, pid, net_id, mac, owner, device, ip, subnet, status='ACTIVE', host='', vif_type='unbound',
          vif_details=''):
    """A port with its fixed IP and its ML2 binding."""
    cur.execute('INSERT INTO ports (project_id, id, name, network_id, mac_address, admin_state_up, status, device_id,'
                ' device_owner, standard_attr_id, ip_allocation) VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s)',
                (project, pid, '', net_id, mac, status, device, owner, std(cur, 'ports'), 'immediate'))
    add('ports', pid)
    cur.execute('INSERT INTO ipallocations (port_id, ip_address, subnet_id, network_id) VALUES (%s, %s, %s, %s)',
                (pid, ip, subnet, net_id))
    add('ipallocations', ip)
    cur.execute('INSERT INTO ml2_port_bindings (port_id, host, vif_type, vnic_type, profile, vif_details, status)'
                ' VALUES (%s, %s, %s, %s, %s, %s, %s)', (pid, host, vif_type, 'normal', '', vif_details, 'ACTIVE'))
    add('ml2_port_bindings', pid)


def _fill_router(cur, model, uuid_of, std, add):
    """The provider network, the router with its gateway and interfaces, and the floating IPs."""
    pub, r = model['public'], model['router']
    proj = next(iter(model['networks'].values()))['project_id']

    def port(pid, net_id, mac, owner, device, ip, subnet, status='ACTIVE', host=''):
        _port(cur, std, add, '' if owner == 'network:floatingip' else proj, pid, net_id, mac, owner, device, ip, subnet,
              status=status, host=host, vif_type='ovs' if host else 'unbound')
    cur.execute('INSERT INTO networks (project_id, id, name, status, admin_state_up, mtu, standard_attr_id)'
                ' VALUES (%s, %s, %s, %s, 1, 1500, %s)', (proj, pub['id'], 'public', 'ACTIVE', std(cur, 'networks')))
    add('networks', pub['id'])
    cur.execute('INSERT INTO networksegments (id, network_id, network_type, physical_network, segmentation_id, is_dynamic,'
                ' segment_index, standard_attr_id) VALUES (%s, %s, %s, %s, NULL, 0, 0, %s)',
                (pub['segment_id'], pub['id'], 'flat', pub['physnet'], std(cur, 'segments')))
    cur.execute('INSERT INTO subnets (project_id, id, name, network_id, ip_version, cidr, gateway_ip, enable_dhcp,'
                ' standard_attr_id) VALUES (%s, %s, %s, %s, 4, %s, %s, 0, %s)',
                (proj, pub['subnet_id'], 'public-subnet', pub['id'], pub['cidr'], pub['gateway'], std(cur, 'subnets')))
    ctl = next(n for n, v in model['nodes'].items() if v['role'] == 'controller')
    cur.execute('INSERT INTO routers (project_id, id, name, status, admin_state_up, gw_port_id, enable_snat, standard_attr_id)'
                ' VALUES (%s, %s, %s, %s, 1, NULL, 1, %s)', (proj, r['id'], r['name'], 'ACTIVE', std(cur, 'routers')))
    add('routers', r['id'])
    port(r['gw_port_id'], pub['id'], r['gw_mac'], 'network:router_gateway', r['id'], r['gateway_ip'], pub['subnet_id'], host=ctl)
    cur.execute('UPDATE routers SET gw_port_id = %s WHERE id = %s', (r['gw_port_id'], r['id']))
    cur.execute('INSERT INTO routerports (router_id, port_id, port_type) VALUES (%s, %s, %s)',
                (r['id'], r['gw_port_id'], 'network:router_gateway'))
    for netname, itf in r['interfaces'].items():
        net = model['networks'][netname]
        # ML2/OVS binds the router's interfaces to the L3 agent's host; OVN leaves them unbound
        port(itf['port_id'], net['id'], itf['mac'], 'network:router_interface', r['id'], itf['ip'], net['subnet_id'],
             host=ctl if model.get('backend') == 'ml2ovs' else '')
        cur.execute('INSERT INTO routerports (router_id, port_id, port_type) VALUES (%s, %s, %s)',
                    (r['id'], itf['port_id'], 'network:router_interface'))
    for i in model['instances'].values():
        if not i['floating_ip']:
            continue
        fport = uuid_of('port', 'fip-%s' % i['hostname'])
        # the floating IP's own port on the public network (Neutron gives it a MAC of its own)
        port(fport, pub['id'], 'fa:16:3e:ff:%s' % i['mac'][12:], 'network:floatingip',
             i['floating_ip_id'], i['floating_ip'], pub['subnet_id'], status='N/A')
        cur.execute('INSERT INTO floatingips (project_id, id, floating_ip_address, floating_network_id, floating_port_id,'
                    ' fixed_port_id, fixed_ip_address, router_id, last_known_router_id, status, standard_attr_id)'
                    ' VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)',
                    (proj, i['floating_ip_id'], i['floating_ip'], pub['id'], fport, i['port_id'], i['fixed_ip'], r['id'], r['id'],
                     'ACTIVE', std(cur, 'floatingips')))
        add('floatingips', i['floating_ip_id'])


def _fill_agents(cur, model, std, add, now):
    """ML2/OVS: the DHCP port of each network, the agents (an Open vSwitch agent per node, the DHCP and L3 agents on
    the network node, each with its last heartbeat), which agent hosts each network and the router."""
    ctl = model['network_node']
    proj = next(iter(model['networks'].values()))['project_id']
    for net in model['networks'].values():
        dp = net['dhcp_port']
        _port(cur, std, add, proj, dp['id'], net['id'], dp['mac'], 'network:dhcp', dp['device_id'], dp['ip'], net['subnet_id'],
              host=ctl, vif_type='ovs', vif_details=json.dumps(VIF_DETAILS_HYBRID))

    def agent(aid, atype, binary, topic, host, conf):
        cur.execute('INSERT INTO agents (id, agent_type, `binary`, topic, host, admin_state_up, created_at, started_at,'
                    ' heartbeat_timestamp, configurations) VALUES (%s, %s, %s, %s, %s, 1, %s, %s, %s, %s)',
                    (aid, atype, binary, topic, host, now, now, now, json.dumps(conf, sort_keys=True)))
        add('agents', aid)
    for name, n in model['nodes'].items():
        agent(n['agent_id'], 'Open vSwitch agent', 'neutron-openvswitch-agent', 'N/A', name,
              {'bridge_mappings': {model['public']['physnet']: 'br-ex'} if name == ctl and model.get('public') else {},
               'tunnel_types': ['vxlan'], 'tunneling_ip': n['tunnel_address'], 'datapath_type': 'netdev',
               'integration_bridge': 'br-int', 'l2_population': False, 'firewall_driver': 'iptables_hybrid'})
    agent(model['agents']['dhcp'], 'DHCP agent', 'neutron-dhcp-agent', 'dhcp_agent', ctl,
          {'dhcp_driver': 'neutron.agent.linux.dhcp.Dnsmasq', 'networks': len(model['networks'])})
    agent(model['agents']['l3'], 'L3 agent', 'neutron-l3-agent', 'l3_agent', ctl, {'agent_mode': 'legacy', 'routers': 1})
    for net in model['networks'].values():
        cur.execute('INSERT INTO networkdhcpagentbindings (network_id, dhcp_agent_id, binding_index) VALUES (%s, %s, 1)',
                    (net['id'], model['agents']['dhcp']))
    if model.get('router'):
        cur.execute('INSERT INTO routerl3agentbindings (router_id, l3_agent_id, binding_index) VALUES (%s, %s, 1)',
                    (model['router']['id'], model['agents']['l3']))


def fill_nova(db, model, project_user):
    """The nova cell DB of a Neutron cloud: the instances (active, on their host) and nothing of nova-network (Neutron
    owns the addresses). ``project_user``: (project_id, user_id)."""
    now = _now()
    created = now - datetime.timedelta(days=1)
    conn = db.connect('nova', autocommit=False)
    try:
        with conn.cursor() as cur:
            for k, inst in enumerate(model['instances'].values(), 1):
                insert_instance(cur, k, inst['uuid'], inst['hostname'], inst['hostname'], inst['host'], project_user[0],
                                project_user[1], created)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()


def strand_floating_ip(lab, inst):
    """Fault helper: a port no device uses (left by a deleted instance) on the instance's network, and the instance's
    floating IP associated with it instead. Returns what ``restore_floating_ip`` undoes."""
    import ipaddress
    import uuid
    from lab.sysutil import LabError
    if not inst.get('floating_ip'):
        raise LabError('instance %s has no floating IP' % inst['hostname'])
    net = lab.model['networks'][inst['network']]
    orphan = str(uuid.uuid5(uuid.UUID(inst['port_id']), 'orphan'))
    addr = str(ipaddress.ip_network(net['cidr']).network_address + 250)
    conn = lab.mariadb().connect('neutron', autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO standardattributes (resource_type, created_at, revision_number) VALUES ('ports', NOW(), 1)")
            std = cur.lastrowid
            cur.execute("INSERT INTO ports (project_id, id, name, network_id, mac_address, admin_state_up, status, device_id,"
                        " device_owner, standard_attr_id, ip_allocation) VALUES (%s, %s, '', %s, %s, 1, 'DOWN', '', '', %s, 'immediate')",
                        (net['project_id'], orphan, net['id'], 'fa:16:3e:00:00:fa', std))
            cur.execute('INSERT INTO ipallocations (port_id, ip_address, subnet_id, network_id) VALUES (%s, %s, %s, %s)',
                        (orphan, addr, net['subnet_id'], net['id']))
            cur.execute('UPDATE floatingips SET fixed_port_id = %s, fixed_ip_address = %s WHERE id = %s', (orphan, addr, inst['floating_ip_id']))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    return {'orphan': orphan, 'std': std, 'addr': addr}


def restore_floating_ip(lab, inst, undo):
    """Undo ``strand_floating_ip``."""
    conn = lab.mariadb().connect('neutron', autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute('UPDATE floatingips SET fixed_port_id = %s, fixed_ip_address = %s WHERE id = %s',
                        (inst['port_id'], inst['fixed_ip'], inst['floating_ip_id']))
            cur.execute('DELETE FROM ipallocations WHERE port_id = %s', (undo['orphan'],))
            cur.execute('DELETE FROM ports WHERE id = %s', (undo['orphan'],))
            cur.execute('DELETE FROM standardattributes WHERE id = %s', (undo['std'],))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
