# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Neutron DB facts (private): one instance's ports with everything the data plane needs, and an audit.

``ports(conn, device_id=, port_id=, address=)``: the ports with their network (MTU, segments), fixed IPs and
subnets, ML2 binding (host, vif_type, vif_details) and binding levels, security groups with their rules, and the
floating IPs that point at them. ``audit(conn)``: ports whose binding failed or that are unbound or DOWN,
floating IPs on a port without a device, and, given the OVN NB facts, what Neutron and OVN disagree on (the log
mode of neutron-ovn-db-sync-util: networks, ports, DHCP options, floating-IP NAT, security groups as port groups and
their ACLs). Only SELECTs; the connection comes from ``_novadb.connect``.
"""

from __future__ import annotations

import json

from ansible_collections.cloudops.netdiag.plugins.module_utils._novadb import NovaDBError, explain_error, jsonable

# owners whose ports OVN models without a chassis of their own (or not as a plain logical switch port)
_NO_CHASSIS_OWNERS = ('network:router_interface', 'network:router_gateway', 'network:router_ha_interface',
                      'network:distributed', 'network:dhcp', 'network:floatingip', 'network:ha_router_replicated_interface',
                      'network:router_interface_distributed', 'network:router_centralized_snat')


def _rows(cur, sql, args=(), params=None, table=None):
    try:
        cur.execute(sql, args)
        cols = [d[0] for d in cur.description]
        return [{c: jsonable(v) for c, v in zip(cols, r)} for r in cur.fetchall()]
    except Exception as exc:  # pymysql errors: named in one sentence
        if isinstance(exc, NovaDBError):
            raise
        raise explain_error(exc, params, action='read %s' % (table or 'the neutron tables'), table=table, service='neutron')


def _in(values):
    values = list(values)
    return ', '.join(['%s'] * len(values)) or 'NULL', values


def ports(conn, device_id=None, port_id=None, address=None, params=None):
    """The ports selected by device (an instance uuid, or a list of them), port id, or fixed/floating address, fully
    described."""
    with conn.cursor() as cur:
        if port_id:
            sel = _rows(cur, 'SELECT id FROM ports WHERE id = %s', (port_id,), params, 'ports')
        elif device_id:
            dph, dargs = _in([device_id] if isinstance(device_id, str) else device_id)
            sel = _rows(cur, 'SELECT id FROM ports WHERE device_id IN (%s) ORDER BY id' % dph, dargs, params, 'ports')
        elif address:
            sel = _rows(cur, 'SELECT port_id AS id FROM ipallocations WHERE ip_address = %s AND port_id IS NOT NULL', (address,),
                        params, 'ipallocations')
            sel += _rows(cur, 'SELECT fixed_port_id AS id FROM floatingips WHERE floating_ip_address = %s AND fixed_port_id IS NOT NULL',
                         (address,), params, 'floatingips')
        else:
            raise NovaDBError('give device_id, port_id or address', code='bad_selection')
        ids = sorted({r['id'] for r in sel})
        if not ids:
            return []
        ph, args = _in(ids)
        prts = _rows(cur, 'SELECT id, name, network_id, mac_address, admin_state_up, status, device_id, device_owner, project_id'
                          ' FROM ports WHERE id IN (%s) ORDER BY id' % ph, args, params, 'ports')
        ips = _rows(cur, 'SELECT port_id, ip_address, subnet_id FROM ipallocations WHERE port_id IN (%s) ORDER BY ip_address' % ph,
                    args, params, 'ipallocations')
        binds = {r['port_id']: r for r in _rows(cur, 'SELECT port_id, host, vif_type, vnic_type, status, vif_details, profile'
                                                     ' FROM ml2_port_bindings WHERE port_id IN (%s)' % ph, args, params, 'ml2_port_bindings')}
        levels = _rows(cur, 'SELECT port_id, host, level, driver, segment_id FROM ml2_port_binding_levels WHERE port_id IN (%s)'
                            ' ORDER BY level' % ph, args, params, 'ml2_port_binding_levels')
        sgb = _rows(cur, 'SELECT b.port_id, g.id, g.name, g.stateful FROM securitygroupportbindings b JOIN securitygroups g'
                         ' ON g.id = b.security_group_id WHERE b.port_id IN (%s) ORDER BY g.name' % ph, args, params, 'securitygroups')
        fips = _rows(cur, 'SELECT id, floating_ip_address, floating_network_id, fixed_port_id, fixed_ip_address, router_id, status'
                          ' FROM floatingips WHERE fixed_port_id IN (%s) ORDER BY floating_ip_address' % ph, args, params, 'floatingips')
        net_ids = sorted({p['network_id'] for p in prts})
        nph, nargs = _in(net_ids)
        nets = {r['id']: r for r in _rows(cur, 'SELECT id, name, status, mtu, admin_state_up, project_id FROM networks WHERE id IN (%s)'
                                          % nph, nargs, params, 'networks')}
        segs = _rows(cur, 'SELECT id, network_id, network_type, physical_network, segmentation_id FROM networksegments'
                          ' WHERE network_id IN (%s) ORDER BY segment_index' % nph, nargs, params, 'networksegments')
        sub_ids = sorted({r['subnet_id'] for r in ips})
        sph, sargs = _in(sub_ids)
        subs = {r['id']: r for r in _rows(cur, 'SELECT id, name, cidr, gateway_ip, enable_dhcp, ip_version FROM subnets'
                                               ' WHERE id IN (%s)' % sph, sargs, params, 'subnets')}
        # the agents that serve the networks (DHCP), their routers (L3) and the ports' hosts (L2): ML2/OVS and the
        # other agent-based backends; none on OVN
        dhcp = _rows(cur, 'SELECT b.network_id, a.id, a.host, a.agent_type, a.admin_state_up, a.heartbeat_timestamp'
                          ' FROM networkdhcpagentbindings b JOIN agents a ON a.id = b.dhcp_agent_id WHERE b.network_id IN (%s)'
                          ' ORDER BY b.binding_index' % nph, nargs, params, 'networkdhcpagentbindings')
        # OVN's metadata port of each network (network:distributed since Victoria; network:dhcp with device_id
        # ovnmeta-<network id> before): neutron-ovn-metadata-agent serves it in ovnmeta-<network id> on every chassis
        mdps = _rows(cur, 'SELECT p.id, p.network_id, p.mac_address, p.device_id, p.device_owner, p.status, i.ip_address FROM ports p'
                          ' LEFT JOIN ipallocations i ON i.port_id = p.id WHERE p.network_id IN (%s) AND (p.device_owner ='
                          " 'network:distributed' OR p.device_id LIKE %%s) ORDER BY p.id, i.ip_address" % nph,
                     nargs + ['ovnmeta-%'], params, 'ports')
        rifs = _rows(cur, 'SELECT rp.router_id, p.network_id, p.id AS port_id, p.mac_address, i.ip_address FROM routerports rp'
                          ' JOIN ports p ON p.id = rp.port_id LEFT JOIN ipallocations i ON i.port_id = p.id'
                          " WHERE rp.port_type = 'network:router_interface' AND p.network_id IN (%s) ORDER BY i.ip_address" % nph,
                     nargs, params, 'routerports')
        rids = sorted({r['router_id'] for r in rifs} | {f['router_id'] for f in fips if f['router_id']})
        rph, rargs = _in(rids)
        routers = {r['id']: r for r in _rows(cur, 'SELECT r.id, r.name, r.status, r.admin_state_up, r.gw_port_id, i.ip_address AS'
                                                  ' gateway_ip, p.network_id AS gateway_network_id, gb.host AS gateway_host FROM routers r'
                                                  ' LEFT JOIN ports p ON p.id = r.gw_port_id LEFT JOIN ipallocations i ON i.port_id = r.gw_port_id'
                                                  ' LEFT JOIN ml2_port_bindings gb ON gb.port_id = r.gw_port_id'
                                                  ' WHERE r.id IN (%s)' % rph, rargs, params, 'routers')}
        l3 = _rows(cur, 'SELECT b.router_id, a.id, a.host, a.agent_type, a.admin_state_up, a.heartbeat_timestamp'
                        ' FROM routerl3agentbindings b JOIN agents a ON a.id = b.l3_agent_id WHERE b.router_id IN (%s)'
                        ' ORDER BY b.binding_index' % rph, rargs, params, 'routerl3agentbindings')
        bhosts = sorted({b['host'] for b in binds.values() if b.get('host')})
        hph, hargs = _in(bhosts)
        l2 = _rows(cur, 'SELECT id, host, agent_type, `binary`, admin_state_up, heartbeat_timestamp, configurations FROM agents'
                        ' WHERE host IN (%s) ORDER BY agent_type' % hph, hargs, params, 'agents')
        sg_ids = sorted({r['id'] for r in sgb})
        gph, gargs = _in(sg_ids)
        rules = _rows(cur, 'SELECT id, security_group_id, direction, ethertype, protocol, port_range_min, port_range_max,'
                           ' remote_ip_prefix, remote_group_id FROM securitygrouprules WHERE security_group_id IN (%s)'
                           ' ORDER BY direction, ethertype, id' % gph, gargs, params, 'securitygrouprules')
    for row in list(nets.values()) + list(subs.values()):
        for k in ('admin_state_up', 'enable_dhcp'):
            if row.get(k) is not None:
                row[k] = bool(row[k])

    def agent(a):
        a = {k: v for k, v in a.items() if k not in ('network_id', 'router_id')}
        a['admin_state_up'] = bool(a['admin_state_up'])
        if a.get('heartbeat_timestamp') is not None:
            a['heartbeat_timestamp'] = str(a['heartbeat_timestamp'])
        if 'configurations' in a:
            try:
                a['configurations'] = json.loads(a['configurations'] or '{}')
            except ValueError:
                pass
        return a

    def router(rid, itf=None):
        r = dict(routers.get(rid) or {'id': rid})
        if 'admin_state_up' in r:
            r['admin_state_up'] = bool(r['admin_state_up'])
        r['l3_agents'] = [agent(a) for a in l3 if a['router_id'] == rid]
        if itf is not None:
            r['interface'] = {'port_id': itf['port_id'], 'ip_address': itf['ip_address'], 'mac_address': itf['mac_address']}
        return r
    out = []
    for p in prts:
        net = dict(nets.get(p['network_id']) or {'id': p['network_id']})
        net['segments'] = [{k: s[k] for k in ('id', 'network_type', 'physical_network', 'segmentation_id')}
                           for s in segs if s['network_id'] == p['network_id']]
        net['dhcp_agents'] = [agent(a) for a in dhcp if a['network_id'] == p['network_id']]
        net['metadata_ports'] = metadata_ports(mdps, p['network_id'])
        net['routers'] = [router(i['router_id'], i) for i in rifs if i['network_id'] == p['network_id']]
        b = binds.get(p['id'])
        if b:
            b = dict(b)
            for k in ('vif_details', 'profile'):
                try:
                    b[k] = json.loads(b[k]) if b[k] else {}
                except ValueError:
                    pass
            b.pop('port_id', None)
            b['agents'] = [agent(a) for a in l2 if a['host'] == b.get('host')]
        out.append({
            'id': p['id'], 'name': p['name'], 'mac_address': p['mac_address'], 'status': p['status'],
            'admin_state_up': bool(p['admin_state_up']), 'device_id': p['device_id'], 'device_owner': p['device_owner'],
            'project_id': p['project_id'], 'network': net,
            'fixed_ips': [{'ip_address': i['ip_address'], 'subnet': subs.get(i['subnet_id']) or {'id': i['subnet_id']}}
                          for i in ips if i['port_id'] == p['id']],
            'binding': b,
            'binding_levels': [{k: v for k, v in lv.items() if k != 'port_id'} for lv in levels if lv['port_id'] == p['id']],
            'security_groups': [{'id': g['id'], 'name': g['name'], 'stateful': bool(g['stateful']),
                                 'rules': [{k: v for k, v in r.items() if k != 'security_group_id'} for r in rules
                                           if r['security_group_id'] == g['id']]}
                                for g in sgb if g['port_id'] == p['id']],
            'floating_ips': [dict({k: v for k, v in f.items() if k != 'fixed_port_id'}, router=router(f['router_id']) if f['router_id'] else None)
                             for f in fips if f['fixed_port_id'] == p['id']],
        })
    return out


def metadata_ports(rows, network_id):
    """The metadata ports of network ``network_id`` among ``rows`` (one row per port and address), with their addresses."""
    out = {}
    for r in rows:
        if r['network_id'] == network_id:
            mp = out.setdefault(r['id'], {'id': r['id'], 'mac_address': r['mac_address'], 'device_id': r['device_id'],
                                          'device_owner': r['device_owner'], 'status': r['status'], 'ip_addresses': []})
            if r['ip_address']:
                mp['ip_addresses'].append(r['ip_address'])
    return list(out.values())


def _finding(code, obj, message, severity='error', **extra):
    f = {'code': code, 'object': obj, 'message': message, 'severity': severity}
    f.update(extra)
    return f


def audit(conn, ovn_nb=None, params=None):
    """Findings of the whole DB (and, with ``ovn_nb`` from ovn_info, of Neutron against OVN)."""
    with conn.cursor() as cur:
        prts = _rows(cur, 'SELECT p.id, p.network_id, p.mac_address, p.status, p.admin_state_up, p.device_id, p.device_owner,'
                          ' b.host, b.vif_type FROM ports p LEFT JOIN ml2_port_bindings b ON b.port_id = p.id ORDER BY p.id',
                     (), params, 'ports')
        ips = _rows(cur, 'SELECT i.port_id, i.ip_address, s.enable_dhcp FROM ipallocations i LEFT JOIN subnets s ON s.id = i.subnet_id'
                         ' WHERE i.port_id IS NOT NULL', (), params, 'ipallocations')
        nets = _rows(cur, 'SELECT id, name FROM networks ORDER BY id', (), params, 'networks')
        fips = _rows(cur, 'SELECT f.id, f.floating_ip_address, f.fixed_port_id, f.fixed_ip_address, f.status, f.router_id, p.device_id,'
                          ' p.device_owner, p.network_id'
                          ' FROM floatingips f LEFT JOIN ports p ON p.id = f.fixed_port_id ORDER BY f.floating_ip_address',
                     (), params, 'floatingips')
    findings = []
    for p in prts:
        owner = p['device_owner'] or ''
        if p['vif_type'] == 'binding_failed':
            findings.append(_finding('binding_failed', p['id'], 'port %s (%s) failed to bind on host %s: no mechanism driver '
                                     'could bind it there (is the agent or ovn-controller of that host alive?)'
                                     % (p['id'], owner or 'no owner', p['host'] or '(none)'), host=p['host']))
        elif owner.startswith('compute:') and (p['vif_type'] in (None, 'unbound') or not p['host']):
            findings.append(_finding('port_unbound', p['id'], 'port %s of instance %s is not bound to any host' % (p['id'], p['device_id'])))
        if owner.startswith('compute:') and p['status'] == 'DOWN' and p['admin_state_up']:
            findings.append(_finding('port_down', p['id'], 'port %s of instance %s is DOWN (admin state up): the backend never '
                                     'reported it wired' % (p['id'], p['device_id']), severity='warning', host=p['host']))
    for f in fips:
        if f['fixed_port_id'] and not f['device_id']:
            findings.append(_finding('floating_ip_stale', f['floating_ip_address'], 'floating IP %s is associated with port %s, '
                                     'which no device uses any more' % (f['floating_ip_address'], f['fixed_port_id']),
                                     port_id=f['fixed_port_id'], network_id=f['network_id'], router_id=f['router_id'],
                                     fixed_ip_address=f['fixed_ip_address']))
        elif f['status'] == 'ERROR':
            findings.append(_finding('floating_ip_error', f['floating_ip_address'], 'floating IP %s is in status ERROR'
                                     % f['floating_ip_address']))
    if ovn_nb is not None:
        findings.extend(compare_ovn(prts, ips, nets, ovn_nb))
        findings.extend(compare_nat(fips, ovn_nb))
        with conn.cursor() as cur:
            sgs = _rows(cur, 'SELECT id, name FROM securitygroups ORDER BY id', (), params, 'securitygroups')
            rules = _rows(cur, 'SELECT id, security_group_id, direction, ethertype, protocol, port_range_min, port_range_max,'
                               ' remote_ip_prefix, remote_group_id FROM securitygrouprules ORDER BY security_group_id, id',
                          (), params, 'securitygrouprules')
            binds = _rows(cur, 'SELECT port_id, security_group_id FROM securitygroupportbindings ORDER BY port_id',
                          (), params, 'securitygroupportbindings')
        findings.extend(compare_security_groups(sgs, rules, binds, ovn_nb))
    return findings


def sg_rule_text(r):
    """A security group rule in one line, as `openstack security group rule list` shows its columns."""
    proto = r.get('protocol') or 'any'
    ports = ''
    if r.get('port_range_min') is not None:
        ports = ':%s' % r['port_range_min'] if r.get('port_range_min') == r.get('port_range_max') else ':%s-%s' % (
            r.get('port_range_min'), r.get('port_range_max'))
    remote = r.get('remote_ip_prefix') or ('group %s' % r['remote_group_id'] if r.get('remote_group_id') else 'any')
    return '%s %s %s%s %s %s' % (r.get('direction'), r.get('ethertype'), proto, ports,
                                 'to' if r.get('direction') == 'egress' else 'from', remote)


def port_group_name(sg_id):
    """The OVN port group of a security group, as Neutron's OVN driver names it (pg_<id>, dashes as underscores)."""
    return 'pg_%s' % str(sg_id).replace('-', '_')


def compare_security_groups(sgs, rules, binds, nb):
    """Security groups against OVN's port groups, as neutron-ovn-db-sync-util's log mode compares them: every group has
    its port group pg_<id>, every rule an ACL there (external_ids neutron:security_group_rule_id), every port bound to a
    group is in its port group; an ACL of a rule Neutron no longer has, or a port group of a group it no longer has, is
    stale."""
    out = []
    groups = {g['name']: g for g in (nb or {}).get('port_groups') or []}
    by_sg = {}
    for g in groups.values():
        sg_id = (g.get('external_ids') or {}).get('neutron:security_group_id')
        if sg_id:
            by_sg[sg_id] = g
    lsps = {p['name'] for ls in (nb or {}).get('logical_switches') or [] for p in ls.get('ports') or []}
    rule_ids = {r['id'] for r in rules}
    sg_ids = {g['id'] for g in sgs}
    names = {g['id']: g['name'] for g in sgs}
    for sg in sgs:
        name = port_group_name(sg['id'])
        if (groups.get(name) or by_sg.get(sg['id'])) is None:
            out.append(_finding('security_group_missing_in_ovn', sg['id'], 'security group %s (%s) has no port group %s in the OVN '
                                'NB DB: none of its rules is enforced, neutron_pg_drop drops what they allow' % (sg['id'], sg['name'], name)))
    for r in rules:
        pg = groups.get(port_group_name(r['security_group_id'])) or by_sg.get(r['security_group_id'])
        if pg is None:
            continue
        if not any((a.get('external_ids') or {}).get('neutron:security_group_rule_id') == r['id'] for a in pg.get('acls') or []):
            out.append(_finding('sg_rule_missing_in_ovn', r['id'], 'rule %s of security group %s (%s: %s) has no ACL in port group %s'
                                % (r['id'], r['security_group_id'], names.get(r['security_group_id']), sg_rule_text(r), pg['name']),
                                security_group_id=r['security_group_id']))
    for b in binds:
        pg = groups.get(port_group_name(b['security_group_id'])) or by_sg.get(b['security_group_id'])
        # a port OVN does not have at all is port_missing_in_ovn (compare_ovn)
        if pg is not None and b['port_id'] in lsps and b['port_id'] not in (pg.get('ports') or []):
            out.append(_finding('port_missing_in_port_group', b['port_id'], 'port %s is in security group %s but not in its port '
                                'group %s: its rules do not apply to it' % (b['port_id'], b['security_group_id'], pg['name']),
                                security_group_id=b['security_group_id']))
    for g in groups.values():
        sg_id = (g.get('external_ids') or {}).get('neutron:security_group_id')
        if not sg_id:
            continue
        if sg_id not in sg_ids:
            out.append(_finding('port_group_missing_in_neutron', g['name'], 'port group %s has no security group %s in the Neutron DB'
                                % (g['name'], sg_id), severity='warning'))
            continue
        for a in g.get('acls') or []:
            rid = (a.get('external_ids') or {}).get('neutron:security_group_rule_id')
            if rid and rid not in rule_ids:
                out.append(_finding('sg_acl_missing_in_neutron', rid, 'ACL %s of port group %s (%s %s %s) belongs to rule %s, which '
                                    'the Neutron DB no longer has: OVN allows what Neutron does not' % (
                                        a.get('uuid'), g['name'], a.get('direction'), a.get('priority'), a.get('match'), rid),
                                    severity='warning', security_group_id=sg_id))
    return out


def compare_ovn(prts, ips, nets, nb):
    """Neutron against OVN's NB DB, as neutron-ovn-db-sync-util's log mode compares them (networks and ports)."""
    out = []
    switches = {ls['name']: ls for ls in nb.get('logical_switches') or []}
    lsps = {p['name']: (ls, p) for ls in switches.values() for p in ls.get('ports') or []}
    net_ids = {n['id'] for n in nets}
    for n in nets:
        if 'neutron-%s' % n['id'] not in switches:
            out.append(_finding('network_missing_in_ovn', n['id'], 'network %s (%s) has no logical switch neutron-%s in the OVN NB DB'
                                % (n['id'], n['name'], n['id'])))
    for name, ls in switches.items():
        if name.startswith('neutron-') and name[8:] not in net_ids:
            out.append(_finding('network_missing_in_neutron', name, 'logical switch %s has no network in the Neutron DB' % name))
    by_port, dhcp_on = {}, {}
    for i in ips:
        by_port.setdefault(i['port_id'], []).append(i['ip_address'])
        if i.get('enable_dhcp') and ':' not in i['ip_address']:
            dhcp_on[i['port_id']] = True
    port_ids = {p['id'] for p in prts}
    for p in prts:
        hit = lsps.get(p['id'])
        if hit is None:
            # a floating IP's own port is a NAT entry of the router in OVN, not a logical switch port
            if 'neutron-%s' % p['network_id'] in switches and p['device_owner'] != 'network:floatingip':
                out.append(_finding('port_missing_in_ovn', p['id'], 'port %s (%s) has no logical switch port in the OVN NB DB'
                                    % (p['id'], p['device_owner'] or 'no owner')))
            continue
        ls, lsp = hit
        if ls['name'] != 'neutron-%s' % p['network_id']:
            out.append(_finding('port_on_wrong_switch', p['id'], 'port %s is on logical switch %s, its network is %s'
                                % (p['id'], ls['name'], p['network_id'])))
        if p['device_owner'] in _NO_CHASSIS_OWNERS or lsp.get('type') not in ('', None):
            continue
        want = sorted([p['mac_address'].lower()] + sorted(by_port.get(p['id'], [])))
        have = [sorted(a.lower().split()) for a in lsp.get('addresses') or [] if a not in ('unknown', 'router', 'dynamic')]
        if have and want not in have:
            out.append(_finding('address_mismatch', p['id'], 'port %s: Neutron says %s, OVN NB says %s' % (
                p['id'], ' '.join(want), '; '.join(' '.join(h) for h in have))))
        if p['device_owner'].startswith('compute:') and dhcp_on.get(p['id']) and not lsp.get('dhcpv4_options'):
            out.append(_finding('dhcp_options_missing', p['id'], 'port %s is on a subnet with DHCP enabled but its logical switch '
                                'port has no DHCPv4 options: OVN will not answer its DHCP requests' % p['id']))
    for name, (ls, lsp) in lsps.items():
        if ls['name'].startswith('neutron-') and name not in port_ids and lsp.get('type') in ('', None):
            out.append(_finding('port_missing_in_neutron', name, 'logical switch port %s of %s has no port in the Neutron DB'
                                % (name, ls['name'])))
    return out


def nat_entries(nb):
    """(router, NAT entry) of every logical router of the NB facts."""
    for r in (nb or {}).get('logical_routers') or []:
        for n in r.get('nat') or []:
            yield r, n


def compare_nat(fips, nb):
    """Associated floating IPs without their dnat_and_snat entry in OVN (or with another logical IP)."""
    out = []
    nats = {}
    for r, n in nat_entries(nb):
        if n.get('type') == 'dnat_and_snat':
            nats.setdefault(str(n.get('external_ip')), []).append((r, n))
    for f in fips:
        if not f.get('fixed_port_id'):
            continue
        hits = nats.get(str(f['floating_ip_address']), [])
        if not hits:
            what = (f['floating_ip_address'], f['fixed_port_id'], f.get('fixed_ip_address'))
            out.append(_finding('floating_ip_nat_missing', f['floating_ip_address'], 'floating IP %s (of port %s, fixed %s) has no '
                                'dnat_and_snat entry in any OVN logical router' % what))
        elif f.get('fixed_ip_address') and not any(n.get('logical_ip') == f['fixed_ip_address'] for r, n in hits):
            out.append(_finding('floating_ip_nat_mismatch', f['floating_ip_address'], 'floating IP %s: Neutron maps it to %s, OVN to %s'
                                % (f['floating_ip_address'], f['fixed_ip_address'], ', '.join(str(n.get('logical_ip')) for r, n in hits))))
    return out
