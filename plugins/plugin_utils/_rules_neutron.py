# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the rules of the Neutron backends (``_rules_ovn``, ``_rules_ml2ovs``) share (private): each backend registers
its own rule for the cause and calls the check here with its model (``OvnModel``, ``Ml2OvsModel``: both have the
instance's Neutron ``port``, ``network``, ``neutron_audit`` and the network node's ``nhost``, ``nifs``, ``novs``).
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.module_utils._ovs import physical_ports
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import admin_up, has_carrier, link_state_text
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, finding


# the catalog entry of the stale floating IP cause, the same on every Neutron backend (``@rule(..., **STALE_FIP)``)
STALE_FIP = dict(
    title='A floating IP of the instance\'s network is held by a port no device uses',
    needs=('neutron.audit', 'neutron'),
    when=lambda m: not any(f.get('floating_ip_address') for f in (m.port or {}).get('floating_ips') or []),
    detects='The instance\'s port has no floating IP, and the audit finds a floating IP associated with a port of the same '
            'network that no device uses any more (left by a deleted instance): the address the instance was reached by.',
    cites='neutron_db_info (the instance\'s port, the audit\'s floating_ip_stale findings).',
    advice='`openstack floating ip unset --port <floating ip>`, then `openstack server add floating ip <server> <floating ip>`; '
           'delete the orphan port (`openstack port delete <port>`).')


def uplink_down(m, bridges, hop=None):
    """A physical port of one of ``bridges`` (the provider bridges of the network node) is down."""
    down = []
    for br in sorted(bridges):
        for i in physical_ports(m.novs, br):
            host_if = m.nifs.get(i['name'])
            if host_if is not None and not (admin_up(host_if) and has_carrier(host_if)):
                down.append((br, i['name'], host_if))
    if not down:
        return None
    return finding([ev(m.nhost, 'interface_info', '%s (port of %s): %s' % (n, br, link_state_text(n, i))) for br, n, i in down],
                   'On %s: %s (the uplink of %s); the router\'s gateway and floating IPs are unreachable until then.' % (
                       m.nhost, ' and '.join('`ip link set %s up`' % n for dummy, n, dummy2 in down), down[0][0]), hop=hop)


def stale_floating_ip(m):
    """The instance's port has no floating IP and the audit finds one of its network held by a port no device uses."""
    if any(f.get('floating_ip_address') for f in (m.port or {}).get('floating_ips') or []):
        return None
    stale = [f for f in m.neutron_audit or [] if f.get('code') == 'floating_ip_stale' and f.get('network_id') == m.network.get('id')]
    if not stale:
        return None
    f = stale[0]
    return finding([ev('neutron-db', 'neutron_db_info', x['message']) for x in stale]
                   + [ev('neutron-db', 'neutron_db_info', 'port %s of %s: no floating IP' % (m.port_id, m.name))],
                   'Floating IP %s is held by port %s, which no device uses: `openstack floating ip unset --port %s`, then '
                   '`openstack server add floating ip %s %s`, and `openstack port delete %s`.' % (
                       f['object'], f.get('port_id'), f['object'], m.inst['uuid'] or m.name, f['object'], f.get('port_id')),
                   summary='%s: floating IP %s is held by a stale port' % (m.name, f['object']))
