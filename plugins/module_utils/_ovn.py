# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OVN facts (private): the northbound and southbound databases, joined, read over the OVSDB protocol.

``read_nb(remote)``: logical switches with their ports (addresses, port security, ``up``, ``enabled``, DHCP
options, Neutron's ``external_ids``) and ACLs, logical routers with their ports, NAT entries and static routes,
port groups with their ACLs, DHCP options. ``read_sb(remote)``: chassis with their encapsulations, port bindings
with the chassis that claimed them. ``problems(nb, sb)``: ports down or unbound, bindings on a chassis that is not
the requested one, chassis without an encapsulation.
"""

from __future__ import annotations

import re

from ansible_collections.cloudops.netdiag.plugins.module_utils._ovsdb import OvsdbError, select


class OvnError(Exception):
    """A database of OVN cannot be read."""


def _read(remote, database, tables, timeout):
    try:
        return select(remote, database, {t: None for t in tables}, timeout=timeout)
    except OvsdbError as exc:
        raise OvnError(str(exc))


def _acl(a):
    return {'uuid': a['_uuid'], 'name': a.get('name'), 'direction': a.get('direction'), 'priority': a.get('priority'),
            'match': a.get('match'), 'action': a.get('action'), 'log': a.get('log'), 'severity': a.get('severity'),
            'external_ids': a.get('external_ids') or {}}


def read_nb(remote, timeout=10.0):
    t = _read(remote, 'OVN_Northbound', ('Logical_Switch', 'Logical_Switch_Port', 'ACL', 'Logical_Router',
                                         'Logical_Router_Port', 'NAT', 'Logical_Router_Static_Route', 'Port_Group',
                                         'DHCP_Options', 'Gateway_Chassis'), timeout)
    lsps = {r['_uuid']: r for r in t['Logical_Switch_Port']}
    acls = {r['_uuid']: r for r in t['ACL']}
    lrps = {r['_uuid']: r for r in t['Logical_Router_Port']}
    nats = {r['_uuid']: r for r in t['NAT']}
    routes = {r['_uuid']: r for r in t['Logical_Router_Static_Route']}
    gws = {r['_uuid']: r for r in t['Gateway_Chassis']}
    dhcp = {r['_uuid']: {'uuid': r['_uuid'], 'cidr': r.get('cidr'), 'options': r.get('options') or {},
                         'external_ids': r.get('external_ids') or {}} for r in t['DHCP_Options']}
    switches = []
    for ls in sorted(t['Logical_Switch'], key=lambda r: r['name']):
        ports = []
        for pu in ls.get('ports') or []:
            p = lsps.get(pu)
            if p is None:
                continue
            ports.append({'name': p['name'], 'uuid': pu, 'type': p.get('type') or '', 'addresses': p.get('addresses') or [],
                          'port_security': p.get('port_security') or [], 'up': p.get('up'), 'enabled': p.get('enabled'),
                          'tag': p.get('tag'), 'options': p.get('options') or {}, 'external_ids': p.get('external_ids') or {},
                          'dhcpv4_options': p.get('dhcpv4_options'), 'ha_chassis_group': p.get('ha_chassis_group')})
        ports.sort(key=lambda x: x['name'])
        switches.append({'name': ls['name'], 'uuid': ls['_uuid'], 'external_ids': ls.get('external_ids') or {},
                         'other_config': ls.get('other_config') or {}, 'ports': ports,
                         'acls': [_acl(acls[a]) for a in ls.get('acls') or [] if a in acls]})
    routers = []
    for lr in sorted(t['Logical_Router'], key=lambda r: r['name']):
        rports = []
        for pu in lr.get('ports') or []:
            p = lrps.get(pu)
            if p is None:
                continue
            rports.append({'name': p['name'], 'uuid': pu, 'mac': p.get('mac'), 'networks': p.get('networks') or [],
                           'options': p.get('options') or {}, 'external_ids': p.get('external_ids') or {},
                           'gateway_chassis': sorted(({'chassis_name': gws[g].get('chassis_name'), 'priority': gws[g].get('priority')}
                                                      for g in p.get('gateway_chassis') or [] if g in gws),
                                                     key=lambda x: -(x['priority'] or 0))})
        routers.append({'name': lr['name'], 'uuid': lr['_uuid'], 'external_ids': lr.get('external_ids') or {},
                        'options': lr.get('options') or {}, 'enabled': lr.get('enabled'), 'ports': sorted(rports, key=lambda x: x['name']),
                        'nat': [{'type': nats[n].get('type'), 'external_ip': nats[n].get('external_ip'),
                                 'logical_ip': nats[n].get('logical_ip'), 'logical_port': nats[n].get('logical_port'),
                                 'external_mac': nats[n].get('external_mac'), 'external_ids': nats[n].get('external_ids') or {}}
                                for n in lr.get('nat') or [] if n in nats],
                        'static_routes': [{'ip_prefix': routes[r].get('ip_prefix'), 'nexthop': routes[r].get('nexthop'),
                                           'output_port': routes[r].get('output_port')}
                                          for r in lr.get('static_routes') or [] if r in routes]})
    groups = [{'name': g['name'], 'uuid': g['_uuid'], 'ports': [lsps[p]['name'] for p in g.get('ports') or [] if p in lsps],
               'acls': [_acl(acls[a]) for a in g.get('acls') or [] if a in acls], 'external_ids': g.get('external_ids') or {}}
              for g in sorted(t['Port_Group'], key=lambda r: r['name'])]
    return {'logical_switches': switches, 'logical_routers': routers, 'port_groups': groups,
            'dhcp_options': sorted(dhcp.values(), key=lambda d: str(d['cidr']))}


def read_sb(remote, timeout=10.0):
    t = _read(remote, 'OVN_Southbound', ('Chassis', 'Encap', 'Port_Binding', 'Datapath_Binding'), timeout)
    encaps = {r['_uuid']: r for r in t['Encap']}
    chassis = {r['_uuid']: r for r in t['Chassis']}
    dps = {r['_uuid']: r for r in t['Datapath_Binding']}
    out_ch = [{'name': c['name'], 'uuid': c['_uuid'], 'hostname': c.get('hostname'),
               'encaps': [{'type': encaps[e].get('type'), 'ip': encaps[e].get('ip'), 'options': encaps[e].get('options') or {}}
                          for e in c.get('encaps') or [] if e in encaps],
               'other_config': c.get('other_config') or {}, 'external_ids': c.get('external_ids') or {}}
              for c in sorted(t['Chassis'], key=lambda r: r.get('hostname') or r['name'])]
    bindings = []
    for b in sorted(t['Port_Binding'], key=lambda r: r['logical_port']):
        ch = chassis.get(b.get('chassis'))
        req = chassis.get(b.get('requested_chassis'))
        dp = dps.get(b.get('datapath')) or {}
        bindings.append({'logical_port': b['logical_port'], 'type': b.get('type') or '', 'mac': b.get('mac') or [],
                         'chassis': ch['name'] if ch else None, 'chassis_hostname': ch.get('hostname') if ch else None,
                         'requested_chassis': req['name'] if req else None, 'up': b.get('up'), 'tunnel_key': b.get('tunnel_key'),
                         'datapath': (dp.get('external_ids') or {}).get('name') or dp.get('_uuid'),
                         'options': b.get('options') or {}, 'external_ids': b.get('external_ids') or {}})
    return {'chassis': out_ch, 'port_bindings': bindings}


def problems(nb, sb):
    out = []
    bind = {b['logical_port']: b for b in (sb or {}).get('port_bindings') or []}
    for ls in (nb or {}).get('logical_switches') or []:
        for p in ls['ports']:
            if p['type'] not in ('', 'virtual'):
                continue        # router, localnet, localport ports have no chassis of their own
            if p.get('enabled') is False:
                out.append({'code': 'port_disabled', 'object': p['name'],
                            'message': 'logical switch port %s of %s is administratively disabled' % (p['name'], ls['name'])})
            if sb is not None:
                b = bind.get(p['name'])
                if b is None:
                    out.append({'code': 'no_port_binding', 'object': p['name'],
                                'message': 'logical switch port %s of %s has no port binding in the SB DB (is ovn-northd running?)'
                                           % (p['name'], ls['name'])})
                elif not b.get('chassis'):
                    out.append({'code': 'port_not_bound', 'object': p['name'],
                                'message': 'port %s of %s is claimed by no chassis: no ovn-controller found an interface with '
                                           'iface-id=%s' % (p['name'], ls['name'], p['name'])})
                elif b.get('requested_chassis') and b['requested_chassis'] != b['chassis']:
                    out.append({'code': 'bound_elsewhere', 'object': p['name'],
                                'message': 'port %s is bound to chassis %s, not to the requested %s' % (
                                    p['name'], b['chassis'], b['requested_chassis'])})
            if p.get('up') is False and (sb is None or (bind.get(p['name']) or {}).get('chassis')):
                out.append({'code': 'port_down', 'object': p['name'],
                            'message': 'logical switch port %s of %s is not up' % (p['name'], ls['name'])})
    for c in (sb or {}).get('chassis') or []:
        if not c['encaps']:
            out.append({'code': 'chassis_without_encap', 'object': c['name'],
                        'message': 'chassis %s (%s) has no tunnel encapsulation' % (c['name'], c.get('hostname'))})
    return out


_PIPELINE = re.compile(r'^(ingress|egress)\((.*)\)$')
_STAGE = re.compile(r'^\s*(\d+)\. (\S+) \(([^)]*)\): (.*), priority (\d+), uuid (\S+)$')


def parse_trace(text):
    """``ovn-trace`` output (the default detailed form) -> {microflow, pipelines: [{pipeline, datapath, inport, outport,
    stages: [{table, stage, source, match, priority, uuid, actions}]}], outputs, dropped, drop}: every logical stage the
    packet went through, datapath after datapath, the ports it was output to (``outputs``), and the stage that dropped
    it (``drop``: its table, stage - ``ls_out_acl``, ``ls_in_port_sec_l2``... - match and priority; the ACL's own match
    when the stage is an ACL's)."""
    out = {'microflow': None, 'pipelines': [], 'outputs': [], 'dropped': False, 'drop': None}
    pipe = stage = None
    for line in (text or '').splitlines():
        s = line.strip()
        if not s or set(s) == {'-'}:
            continue
        if s.startswith('# ') and out['microflow'] is None:
            out['microflow'] = s[2:]
            continue
        m = _PIPELINE.match(s)
        if m:
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            pipe = {'pipeline': m.group(1), 'datapath': attrs.get('dp'), 'inport': attrs.get('inport'), 'outport': attrs.get('outport'),
                    'stages': []}
            out['pipelines'].append(pipe)
            stage = None
            continue
        m = _STAGE.match(line)
        if m and pipe is not None:
            stage = {'table': int(m.group(1)), 'stage': m.group(2), 'source': m.group(3), 'match': m.group(4),
                     'priority': int(m.group(5)), 'uuid': m.group(6), 'actions': []}
            pipe['stages'].append(stage)
            continue
        if stage is not None:
            stage['actions'].append(s)
            o = re.match(r'^/\* output to "([^"]+)"', s)
            if o:
                out['outputs'].append(o.group(1))
            if s == 'drop;' and out['drop'] is None:
                out['dropped'] = True
                out['drop'] = dict(stage, datapath=pipe['datapath'], pipeline=pipe['pipeline'])
    if not out['pipelines']:
        raise OvnError('not ovn-trace output: %s' % (text or '').strip()[:200])
    return out
