# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Linux bridges and their ports: the ``brctl show`` view from netlink, a ``brctl show`` parser, OVS (private).

``bridges_from_interfaces(interfaces)`` turns the interface dicts of ``_interfaces`` (one netlink
dump: the bridge's STP state and id from IFLA_INFO_DATA, each port's STP state from
IFLA_INFO_SLAVE_DATA) into bridges with their ports; no ``brctl`` and no sysfs (sysfs shows the
namespace it was mounted in, not the one a thread has entered, so netlink is the only reliable
way into other namespaces).  ``parse_brctl_show`` reads saved ``brctl show`` text offline.
``parse_ovs_list`` reads ``ovs-vsctl list-br`` / ``list-ports`` output.  All pure.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.module_utils._interfaces import IGNORABLE_NAMES


class BridgeError(Exception):
    """Text is not ``brctl show`` output."""


def _problem(code, message, obj):
    return {'code': code, 'message': message, 'object': obj}


def bridges_from_interfaces(interfaces):
    """Bridges (kind ``bridge``) with their ports, from ``_interfaces`` dicts of one or more namespaces.

    Each bridge: ``name``, ``netns``, ``index``, ``bridge_id``, ``stp_enabled``, ``stp_state``, ``mtu``,
    ``up``, ``operstate``, ``carrier``, ``addresses`` (``address/prefixlen`` strings), ``ignorable``
    (libvirt's virbr0), ``ports`` (name, index, kind, ``state`` = STP port state such as
    ``forwarding``/``disabled``/``blocking``, ``up``, ``operstate``, ``carrier``, ``mtu``, ``mac``,
    ``peer_index``/``link_netns`` for veths) and ``problems`` (``bridge_down``, ``no_ports``,
    ``no_forwarding_port``, ``port_down``).
    """
    bridges = []
    by_key = {}
    for itf in interfaces:
        if itf.get('kind') == 'bridge':
            br = itf.get('bridge') or {}
            stp = br.get('stp_state')
            entry = {'name': itf['name'], 'netns': itf.get('netns'), 'index': itf.get('index'),
                     'bridge_id': br.get('bridge_id'), 'stp_state': stp,
                     'stp_enabled': None if stp is None else stp != 0,
                     'mtu': itf.get('mtu'), 'up': itf.get('up'), 'operstate': itf.get('operstate'),
                     'carrier': itf.get('carrier'), 'mac': itf.get('mac'),
                     'addresses': ['%s/%s' % (a['address'], a['prefixlen']) for a in itf.get('addresses') or ()],
                     'ignorable': itf['name'] in IGNORABLE_NAMES, 'ports': [], 'problems': []}
            bridges.append(entry)
            by_key[(entry['netns'], entry['name'])] = entry
    for itf in interfaces:
        master = itf.get('master')
        if not master:
            continue
        br = by_key.get((itf.get('netns'), master))
        if br is None:
            continue
        port = itf.get('bridge_port') or {}
        br['ports'].append({'name': itf['name'], 'index': itf.get('index'), 'kind': itf.get('kind'),
                            'state': port.get('state'), 'priority': port.get('priority'), 'cost': port.get('cost'),
                            'up': itf.get('up'), 'operstate': itf.get('operstate'), 'carrier': itf.get('carrier'),
                            'mtu': itf.get('mtu'), 'mac': itf.get('mac'), 'peer_index': itf.get('peer_index'),
                            'link': itf.get('link'), 'link_netns': itf.get('link_netns')})
    for br in bridges:
        br['ports'].sort(key=lambda p: p['name'])
        evaluate_bridge(br)
    return bridges


def evaluate_bridge(br):
    """Fill ``br['problems']`` (never for ignorable bridges); return it."""
    problems = []
    br['problems'] = problems
    if br.get('ignorable'):
        return problems
    obj = br['name'] if not br.get('netns') else '%s/%s' % (br['netns'], br['name'])
    if br.get('up') is False:
        problems.append(_problem('bridge_down', 'bridge %s is administratively down' % br['name'], obj))
    ports = br.get('ports') or []
    if not ports:
        problems.append(_problem('no_ports', 'bridge %s has no ports' % br['name'], obj))
        return problems
    for p in ports:
        if p.get('up') is False:
            problems.append(_problem('port_down', 'port %s of bridge %s is down' % (p['name'], br['name']),
                                     '%s/%s' % (obj, p['name'])))
    states = [p.get('state') for p in ports if p.get('state')]
    if states and 'forwarding' not in states:
        problems.append(_problem('no_forwarding_port', 'no port of bridge %s is forwarding (%s)'
                                 % (br['name'], ', '.join(sorted(set(states)))), obj))
    return problems


def bridge_of(bridges, interface):
    """Where ``interface`` is a bridge port: a list of ``{interface, bridge, netns, state}`` (empty if none).

    A list because the same name can exist in several namespaces; OVS bridges (``type: ovs``) count too.
    """
    out = []
    for br in bridges:
        for p in br.get('ports') or ():
            if p['name'] == interface:
                out.append({'interface': interface, 'bridge': br['name'], 'netns': br.get('netns'),
                            'state': p.get('state'), 'type': br.get('type', 'linux')})
    return out


def parse_brctl_show(text):
    """Parse ``brctl show`` output into bridges: ``name``, ``bridge_id``, ``stp_enabled``, ``ports`` (names).

    The continuation lines (one more port per line, indented with tabs) attach to the bridge above.
    Raises BridgeError when the header line is missing.
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].split()[:2] == ['bridge', 'name']:
        raise BridgeError('not "brctl show" output: the "bridge name  bridge id  STP enabled  interfaces" header '
                          'is missing')
    bridges = []
    for ln in lines[1:]:
        if ln[0] in ' \t':
            if not bridges:
                raise BridgeError('not "brctl show" output: a port line comes before any bridge: %s' % ln.strip())
            bridges[-1]['ports'].append(ln.strip())
            continue
        fields = ln.split()
        if len(fields) < 3 or fields[2] not in ('yes', 'no'):
            raise BridgeError('not "brctl show" output: %s' % ln.strip()[:200])
        bridges.append({'name': fields[0], 'netns': None, 'index': None, 'bridge_id': fields[1],
                        'stp_state': None, 'stp_enabled': fields[2] == 'yes', 'mtu': None, 'up': None,
                        'operstate': None, 'carrier': None, 'mac': None, 'addresses': [],
                        'ignorable': fields[0] in IGNORABLE_NAMES, 'ports': fields[3:4]})
    for br in bridges:
        br['ports'] = [{'name': p, 'state': None} for p in br['ports']]
        br['problems'] = []
        evaluate_bridge(br)
    return bridges


def parse_ovs_list(names_text):
    """Names from ``ovs-vsctl list-br`` or ``ovs-vsctl list-ports BRIDGE`` output (one per line)."""
    return [ln.strip() for ln in names_text.splitlines() if ln.strip()]
