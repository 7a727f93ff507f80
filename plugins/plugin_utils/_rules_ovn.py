# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML2/OVN rules (private): one per cause, on ``_model_ovn.OvnModel``.

Facts they read: ``neutron_db_info`` (the instance's port and its binding, the audit against OVN's NB), ``ovn_info``
(the logical switch port, its DHCP options, ACLs and port groups; the port binding and its chassis), ``ovs_info``
on the compute node (the tap with its ``iface-id``, the node's daemons, the chassis' tunnel settings) and its
``interface_info`` (the interface holding the tunnel address, its state and MTU).
"""

from __future__ import annotations

import re

from ansible_collections.cloudops.netdiag.plugins.module_utils._neutrondb import port_group_name, sg_rule_text
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import link_state_text
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model_ovn import GENEVE_OVERHEAD
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, finding, rule
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules_neutron import STALE_FIP, stale_floating_ip, uplink_down

B = 'ovn'
UNIT = 'tests/unit/plugins/plugin_utils/test_rules_ovn.py::'
LAB = 'tests/integration/diagnose/test_diagnose_ovn.py::test_ovn_fault_names_its_cause'


def _audit(m, code):
    return [f for f in m.neutron_audit or [] if f.get('code') == code and f.get('object') == m.port_id]


@rule(B, 'port_binding_failed', 0, 'control_plane', ('db', 'Neutron DB ml2_port_bindings'),
      title='The instance\'s port failed to bind',
      needs=('neutron',),
      detects='The ML2 binding of the instance\'s port has vif_type binding_failed: no mechanism driver could bind it on its host.',
      cites='neutron_db_info (the port\'s binding: host, vif_type).',
      advice='`openstack port show <port> -c binding_host_id -c binding_vif_type`; check that the host is an OVN chassis '
             '(`ovn-sbctl show`, its ovn-controller running, `ovn-bridge-mappings` for provider networks), then rebind: '
             '`openstack port set --host <host> <port>` or hard-reboot the instance.',
      tests=(UNIT + 'test_port_binding_failed', LAB + '[ovn_binding_failed]'))
def port_binding_failed(m):
    if m.binding.get('vif_type') != 'binding_failed':
        return None
    return finding([ev('neutron-db', 'neutron_db_info', 'port %s: binding host %s, vif_type binding_failed' % (
        m.port_id, m.binding.get('host') or '(none)'))],
        'No mechanism driver could bind port %s of %s on %s: check that %s is an OVN chassis with a live ovn-controller '
        '(`ovn-sbctl show`), then rebind it (`openstack port set --host %s %s`, or hard-reboot the instance).' % (
            m.port_id, m.name, m.binding.get('host'), m.binding.get('host'), m.binding.get('host'), m.port_id))


@rule(B, 'ovn_port_missing', 5, 'control_plane', ('db', 'OVN NB logical switch port'),
      title='Neutron has the port, OVN\'s northbound DB does not',
      needs=('neutron', 'ovn.nb'),
      detects='The instance\'s Neutron port has no logical switch port in the NB DB (its network\'s logical switch exists).',
      cites='neutron_db_info (the port), ovn_info (the logical switch without it).',
      advice='Resynchronise: `neutron-ovn-db-sync-util --ovn-neutron_sync_mode log`, then `repair` (or update the port in '
             'Neutron so that its OVN driver writes it again).',
      tests=(UNIT + 'test_ovn_port_missing', LAB + '[ovn_port_missing]'))
def ovn_port_missing(m):
    if not m.port_id or m.lsp is not None:
        return None
    switch = 'neutron-%s' % ((m.port or {}).get('network') or {}).get('id')
    if not any(ls.get('name') == switch for ls in (m.nb or {}).get('logical_switches') or []):
        return None
    return finding([ev('ovn-nb', 'ovn_info', 'logical switch %s has no port %s' % (switch, m.port_id))]
                   + [ev('neutron-db', 'neutron_db_info', f['message']) for f in _audit(m, 'port_missing_in_ovn')],
                   'OVN lost port %s of %s: run `neutron-ovn-db-sync-util --ovn-neutron_sync_mode log` to see every '
                   'difference, then `--ovn-neutron_sync_mode repair`.' % (m.port_id, m.name))


@rule(B, 'ovn_controller_down', 10, 'compute', ('stack', 'ovn-controller'),
      title='ovn-controller does not run on the instance\'s chassis',
      needs=('compute.ovs',),
      detects='The compute node\'s switch is an OVN chassis (ovn-remote set) but no ovn-controller runs in its network '
              'namespace: nothing programs br-int any more, new ports are not claimed.',
      cites='ovs_info (the chassis settings and the node\'s daemons).',
      advice='Start ovn-controller again on the node (`systemctl restart ovn-controller`, or its container), then check '
             '`ovn-appctl -t ovn-controller connection-status` and `ovn-sbctl show`.',
      tests=(UNIT + 'test_ovn_controller_down', LAB + '[ovn_controller_dead]'))
def ovn_controller_down(m):
    daemons = (m.ovs or {}).get('daemons')
    if not m.encap.get('remote') or daemons is None or daemons.get('ovn-controller'):
        return None
    return finding([ev(m.chost, 'ovs_info', 'OVN chassis %s (ovn-remote %s), running: %s' % (
        ((m.ovs or {}).get('open_vswitch') or {}).get('system_id'), m.encap.get('remote'),
        ', '.join('%s %s' % (k, v) for k, v in sorted(daemons.items()) if v) or 'nothing'))],
        'On %s start ovn-controller again (`systemctl restart ovn-controller`, or restart its container), then check '
        '`ovn-appctl -t ovn-controller connection-status`.' % m.on)


@rule(B, 'tap_missing', 20, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='The instance\'s tap is not on br-int',
      needs=('compute.ovs', 'neutron'),
      detects='No interface of the compute node\'s switch carries external_ids:iface-id=<port id>, and none is named '
              'tap<port id[:11]>.',
      cites='ovs_info (the bridges and their interfaces), neutron_db_info (the port id).',
      advice='Hard-reboot the instance (`openstack server reboot --hard <server>`) so that nova/os-vif plug its tap again.',
      tests=(UNIT + 'test_tap_missing',))
def tap_missing(m):
    if not m.port_id or m.tap is not None:
        return None
    return finding([ev(m.chost, 'ovs_info', 'no interface with iface-id %s and no %s on %s\'s switch' % (
        m.port_id, 'tap' + m.port_id[:11], m.chost))],
        'The tap of %s is not on br-int of %s: hard-reboot the instance (`openstack server reboot --hard %s`).' % (
            m.name, m.on, m.inst['uuid'] or m.name), hop=m.thop.get('id'))


@rule(B, 'port_not_bound', 25, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='No chassis claims the instance\'s port',
      needs=('compute.ovs', 'ovn.sb', 'neutron'),
      detects='The tap is on br-int but its external_ids:iface-id is not the port id (or missing), and the port binding '
              'in the SB DB has no chassis.',
      cites='ovs_info (the tap\'s external_ids), ovn_info (the port binding without chassis).',
      advice='`ovs-vsctl set interface <tap> external_ids:iface-id=<port id>` on the compute node (what os-vif writes).',
      tests=(UNIT + 'test_port_not_bound', LAB + '[ovn_port_unbound]'))
def port_not_bound(m):
    if m.tap_iface is None or (m.tap_iface.get('external_ids') or {}).get('iface-id') == m.port_id:
        return None
    if m.pb is not None and m.pb.get('chassis'):
        return None
    return finding([ev(m.chost, 'ovs_info', 'interface %s: external_ids %s' % (m.tap, m.tap_iface.get('external_ids') or {})),
                    ev('ovn-sb', 'ovn_info', 'port binding %s: %s' % (m.port_id, 'no chassis' if m.pb else 'none'))],
                   'On %s: `ovs-vsctl set interface %s external_ids:iface-id=%s`; ovn-controller then claims the port.' % (
                       m.on, m.tap, m.port_id), hop=m.thop.get('id'))


@rule(B, 'tap_down', 30, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='The instance\'s tap is down',
      needs=('compute.ovs',),
      detects='The tap (the interface with the port\'s iface-id) has its link down in the switch (or is administratively '
              'down on the host).',
      cites='ovs_info (link_state, admin_state), interface_info (flags) when read.',
      advice='`ip link set <tap> up` on the compute node.',
      tests=(UNIT + 'test_tap_down', LAB + '[ovn_tap_down]'))
def tap_down(m):
    if m.tap_iface is None:
        return None
    host_if = m.cifs.get(m.tap) if m.cifs else None
    down = m.tap_iface.get('link_state') == 'down' or (host_if is not None and not m.iface_up(host_if))
    if not down:
        return None
    items = [ev(m.chost, 'ovs_info', 'interface %s: link_state %s, admin_state %s' % (
        m.tap, m.tap_iface.get('link_state'), m.tap_iface.get('admin_state')))]
    if host_if is not None:
        items.append(ev(m.chost, 'interface_info', link_state_text(m.tap, host_if)))
    return finding(items, 'On %s: `ip link set %s up` (the tap of %s).' % (m.on, m.tap, m.name), hop=m.thop.get('id'))


@rule(B, 'port_disabled', 35, 'control_plane', ('db', 'OVN NB logical switch port'),
      title='The instance\'s logical switch port is disabled',
      needs=('ovn.nb', 'neutron'),
      detects='The logical switch port of the instance\'s port has enabled=false in the NB DB (Neutron\'s admin_state_up '
              'false, or set by hand).',
      cites='ovn_info (the port\'s enabled column), neutron_db_info (admin_state_up).',
      advice='`openstack port set --enable <port>` (or `ovn-nbctl lsp-set-enabled <port> enabled` if Neutron has it up).',
      tests=(UNIT + 'test_port_disabled', LAB + '[ovn_port_disabled]'))
def port_disabled(m):
    if m.lsp is None or m.lsp.get('enabled') is not False:
        return None
    up = (m.port or {}).get('admin_state_up')
    return finding([ev('ovn-nb', 'ovn_info', 'logical switch port %s: enabled false' % m.port_id),
                    ev('neutron-db', 'neutron_db_info', 'port %s: admin_state_up %s' % (m.port_id, up))],
                   '`openstack port set --enable %s`%s.' % (m.port_id, '' if up is False else
                                                            ' (Neutron has it up: `ovn-nbctl lsp-set-enabled %s enabled`, '
                                                            'then find who disabled it)' % m.port_id))


@rule(B, 'port_bound_elsewhere', 40, 'control_plane', ('db', 'OVN SB port binding'),
      title='The port is bound to another chassis than the instance\'s host',
      needs=('ovn.sb', 'neutron'),
      detects='The SB port binding\'s chassis is not the host Neutron bound the port to.',
      cites='ovn_info (the binding\'s chassis and its hostname), neutron_db_info (binding host).',
      advice='Find the stray interface with this iface-id on the other chassis (`ovs-vsctl find interface '
             'external_ids:iface-id=<port>`) and remove it.',
      tests=(UNIT + 'test_port_bound_elsewhere',))
def port_bound_elsewhere(m):
    host = m.binding.get('host')
    if not m.pb or not m.pb.get('chassis') or not host or m.pb.get('chassis_hostname') in (None, host):
        return None
    return finding([ev('ovn-sb', 'ovn_info', 'port binding %s: chassis %s (%s)' % (m.port_id, m.pb['chassis'], m.pb.get('chassis_hostname'))),
                    ev('neutron-db', 'neutron_db_info', 'port %s: binding host %s' % (m.port_id, host))],
                   'On %s: `ovs-vsctl find interface external_ids:iface-id=%s`, and remove that interface.' % (
                       m.pb.get('chassis_hostname'), m.port_id))


@rule(B, 'tunnel_endpoint_down', 50, 'compute_to_gateway', ('hop', 'the tunnel endpoint'),
      title='The chassis\' tunnel endpoint is down',
      needs=('compute.ovs', 'compute.interfaces'),
      detects='The interface that holds the chassis\' ovn-encap-ip is down (or no interface holds it).',
      cites='ovs_info (ovn-encap-ip), interface_info (the interface with that address).',
      advice='Bring the interface up (`ip link set <dev> up`) and check the route to the other chassis\' tunnel addresses.',
      tests=(UNIT + 'test_tunnel_endpoint_down', LAB + '[ovn_tunnel_down]'))
def tunnel_endpoint_down(m):
    ip = m.encap.get('encap_ip')
    if not ip:
        return None
    i = m.encap_iface()
    if i is None:
        return finding([ev(m.chost, 'interface_info', 'no interface of %s holds the tunnel address %s' % (m.chost, ip))],
                       'On %s the tunnel address %s (ovn-encap-ip) is on no interface: add it back to the tunnel interface.' % (m.on, ip),
                       hop=m.tunhop.get('id'))
    if m.iface_up(i):
        return None
    return finding([ev(m.chost, 'interface_info', link_state_text(m.encap_dev, i))],
                   'On %s: `ip link set %s up` (it holds the tunnel address %s), then check the route to the other chassis.' % (
                       m.on, m.encap_dev, ip), hop=m.tunhop.get('id'))


@rule(B, 'underlay_mtu_too_small', 60, 'compute_to_gateway', ('hop', 'the tunnel endpoint'),
      title='The underlay MTU is too small for the network\'s MTU plus geneve',
      needs=('compute.ovs', 'compute.interfaces', 'neutron'),
      detects='The interface that holds the tunnel address has an MTU below the network\'s MTU plus 58 bytes (Neutron\'s '
              'geneve overhead on IPv4): full-size frames of the instance no longer fit once encapsulated.',
      cites='neutron_db_info (the network MTU), interface_info (the MTU of the tunnel interface).',
      advice='Raise the underlay MTU (`ip link set <dev> mtu <network MTU + 58>`), or lower the network\'s MTU '
             '(`openstack network set --mtu`) and let the instances renew DHCP.',
      tests=(UNIT + 'test_underlay_mtu_too_small', LAB + '[ovn_mtu_underlay]'))
def underlay_mtu_too_small(m):
    i = m.encap_iface()
    if i is None or not m.net_mtu or not i.get('mtu'):
        return None
    need = int(m.net_mtu) + GENEVE_OVERHEAD
    if int(i['mtu']) >= need:
        return None
    return finding([ev(m.chost, 'interface_info', '%s (tunnel address %s): mtu %s' % (m.encap_dev, m.encap.get('encap_ip'), i['mtu'])),
                    ev('neutron-db', 'neutron_db_info', 'network %s: mtu %s, + %d of geneve = %d' % (
                        ((m.port or {}).get('network') or {}).get('id'), m.net_mtu, GENEVE_OVERHEAD, need))],
                   'On %s: `ip link set %s mtu %d` (and on its lower devices), or lower the network\'s MTU to %d '
                   '(`openstack network set --mtu %d`).' % (m.on, m.encap_dev, need, int(i['mtu']) - GENEVE_OVERHEAD,
                                                            int(i['mtu']) - GENEVE_OVERHEAD), hop=m.tunhop.get('id'))


def _names_port(match, port_id, groups):
    if re.search(r'(?:inport|outport)\s*==\s*"?%s"?' % re.escape(port_id), match or ''):
        return True
    return any(re.search(r'(?:inport|outport)\s*==\s*@%s\b' % re.escape(g), match or '') for g in groups)


@rule(B, 'sg_rule_missing_in_ovn', 68, 'compute', ('db', 'OVN NB port group of the security group'),
      title='Security group rules of the port are missing in OVN',
      needs=('ovn.nb', 'neutron'),
      detects='A rule of a security group of the instance\'s port (Neutron DB) has no ACL in that group\'s port group '
              '(pg_<group id>) in the NB DB (matched by external_ids neutron:security_group_rule_id), or the port is not in '
              'that port group: neutron_pg_drop drops what the rule allows, as neutron-ovn-db-sync-util would report.',
      cites='neutron_db_info (the port\'s security groups and their rules), ovn_info (port groups, their ports and ACLs).',
      advice='`neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair` (or delete and re-create the rule with '
             '`openstack security group rule delete/create`), then check with `ovn-nbctl acl-list pg_<group id>`.',
      tests=(UNIT + 'test_sg_rule_missing_in_ovn', LAB + '[ovn_sg_acls_missing]'))
def sg_rule_missing_in_ovn(m):
    groups = (m.nb or {}).get('port_groups') or []
    items, missing = [], []
    for sg in (m.port or {}).get('security_groups') or []:
        name = port_group_name(sg.get('id'))
        pg = next((g for g in groups if g.get('name') == name
                   or (g.get('external_ids') or {}).get('neutron:security_group_id') == sg.get('id')), None)
        if pg is None:
            items.append(ev('ovn-nb', 'ovn_info', 'security group %s (%s): no port group %s' % (sg.get('id'), sg.get('name'), name)))
            missing.append(name)
            continue
        if m.port_id not in (pg.get('ports') or []):
            items.append(ev('ovn-nb', 'ovn_info', 'port %s is not in port group %s of security group %s' % (m.port_id, pg['name'], sg.get('id'))))
            missing.append(pg['name'])
        have = {(a.get('external_ids') or {}).get('neutron:security_group_rule_id') for a in pg.get('acls') or []}
        for r in sg.get('rules') or []:
            if r.get('id') not in have:
                items.append(ev('neutron-db', 'neutron_db_info', 'rule %s of %s (%s) has no ACL in %s' % (
                    r.get('id'), sg.get('name'), sg_rule_text(r), pg['name'])))
                missing.append(pg['name'])
    if not items:
        return None
    return finding(items, 'OVN lacks security group rules of %s (neutron_pg_drop drops what they allow): '
                          '`neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair`, then `ovn-nbctl acl-list %s`.' % (
                              m.name, sorted(set(missing))[0]),
                   summary='%s: security group rules missing in OVN' % m.name)


@rule(B, 'acl_drop', 70, 'compute', ('stack', 'OVN ACLs (security groups)'),
      title='An OVN ACL drops the instance\'s traffic',
      needs=('ovn.nb', 'neutron'), certainty='likely',
      detects='A drop or reject ACL of the instance\'s logical switch, or of a port group the port is in, whose match names '
              'the port (inport/outport == the port, or its port group) and that is not Neutron\'s own default drop '
              '(port group neutron_pg_drop, which the security groups\' allow ACLs override at a higher priority).',
      cites='ovn_info (the ACL: direction, priority, match, action).',
      advice='Confirm with `ovn-trace` of the instance\'s packet (it names the ACL stage), then remove the ACL '
             '(`ovn-nbctl acl-del ...`) or fix the security group.',
      tests=(UNIT + 'test_acl_drop', LAB + '[ovn_acl_drop]'))
def acl_drop(m):
    if m.ls is None:
        return None
    groups = [g for g in (m.nb or {}).get('port_groups') or [] if m.port_id in (g.get('ports') or [])]
    acls = [(m.ls['name'], a) for a in m.ls.get('acls') or []] + [(g['name'], a) for g in groups for a in g.get('acls') or []
                                                                  if g['name'] != 'neutron_pg_drop']
    items, dels = [], []
    for owner, a in acls:
        if a.get('action') not in ('drop', 'reject'):
            continue
        if not _names_port(a.get('match'), m.port_id, [g['name'] for g in groups]):
            continue
        items.append(ev('ovn-nb', 'ovn_info', 'ACL of %s: %s priority %s match %s action %s' % (
            owner, a.get('direction'), a.get('priority'), a.get('match'), a.get('action'))))
        dels.append('`ovn-nbctl acl-del %s %s %s \'%s\'`' % (owner, a.get('direction'), a.get('priority'), a.get('match')))
    if not items:
        return None
    # ovn-trace of the instance's packets: an ACL stage that drops one confirms it
    traced = [t for t in m.traces if t.get('dropped') and 'acl' in str((t.get('drop') or {}).get('stage'))]
    items += [ev('ovn-sb', 'ovn_info', 'ovn-trace %s: dropped in %s %s (table %s, priority %s, match %s)' % (
        t.get('microflow'), (t['drop'].get('pipeline')), t['drop'].get('stage'), t['drop'].get('table'), t['drop'].get('priority'),
        t['drop'].get('match'))) for t in traced]
    return finding(items, 'An OVN ACL drops the traffic of %s%s: remove it (%s) or fix the security group it came from.' % (
        m.name, ' (ovn-trace of its ping stops in that ACL\'s stage)' if traced else ', confirm with `ovn-trace` of its packet',
        ' and '.join(dels)), confirmed=True if traced else None)


@rule(B, 'logical_pipeline_drop', 75, 'compute', ('stack', 'OVN logical pipeline'),
      title='OVN\'s logical pipeline drops the instance\'s packets',
      needs=('ovn.sb', 'neutron'), certainty='likely',
      explained_by=('ovn_port_missing', 'port_disabled', 'acl_drop', 'sg_rule_missing_in_ovn', 'port_not_bound', 'tap_missing'),
      detects='ovn-trace of the instance\'s ping to or from its second instance ends in a drop in a logical stage (port '
              'security, a lookup, an ACL no NB row explains) and no more precise cause explains it.',
      cites='ovn_info with trace (the logical stages, the dropping stage with its match and priority).',
      advice='`ovn-sbctl lflow-list <datapath> | grep <stage>` for the dropping logical flow; port security '
             '(`ovn-nbctl lsp-get-port-security <port>` against the instance\'s MAC and IP) is the usual one.',
      tests=(UNIT + 'test_logical_pipeline_drop',))
def logical_pipeline_drop(m):
    traced = [t for t in m.traces if t.get('dropped')]
    if not traced:
        return None
    d = traced[0]['drop']
    return finding([ev('ovn-sb', 'ovn_info', 'ovn-trace %s: dropped in %s %s (table %s, priority %s, match %s)' % (
        t.get('microflow'), t['drop'].get('pipeline'), t['drop'].get('stage'), t['drop'].get('table'), t['drop'].get('priority'),
        t['drop'].get('match'))) for t in traced],
        'OVN drops the packets of %s in %s (%s): `ovn-sbctl lflow-list %s` shows the logical flow (match %s); check the port\'s '
        'port security (`ovn-nbctl lsp-get-port-security %s`) and the ACLs.' % (
            m.name, d.get('stage'), d.get('pipeline'), traced[0].get('datapath'), d.get('match'), m.port_id))


@rule(B, 'dhcp_options_missing', 80, 'control_plane', ('db', 'OVN NB DHCP options'),
      title='OVN has no DHCP options for the instance\'s port',
      needs=('ovn.nb', 'neutron'),
      detects='The port\'s subnet has DHCP enabled in Neutron but its logical switch port has no DHCPv4 options: '
              'OVN does not answer its DHCP requests.',
      cites='neutron_db_info (the subnet, enable_dhcp), ovn_info (dhcpv4_options of the port).',
      advice='`neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair`, or update the port so that Neutron writes it '
             'again; then renew DHCP in the instance.',
      tests=(UNIT + 'test_dhcp_options_missing', LAB + '[ovn_dhcp_options_missing]'))
def dhcp_options_missing(m):
    if m.lsp is None or m.lsp.get('dhcpv4_options'):
        return None
    dhcp = [f for f in (m.port or {}).get('fixed_ips') or [] if (f.get('subnet') or {}).get('enable_dhcp')
            and ':' not in str(f.get('ip_address'))]
    if not dhcp:
        return None
    sub = dhcp[0]['subnet']
    return finding([ev('neutron-db', 'neutron_db_info', 'subnet %s (%s): enable_dhcp' % (sub.get('id'), sub.get('cidr'))),
                    ev('ovn-nb', 'ovn_info', 'logical switch port %s: no dhcpv4_options' % m.port_id)],
                   'OVN will not answer DHCP for %s: `neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair` (or update '
                   'port %s), then renew DHCP in the instance.' % (m.name, m.port_id),
                   summary='%s: no DHCP options in OVN for its port' % m.name)


@rule(B, 'floating_ip_nat_missing', 90, 'compute_to_gateway', ('db', 'OVN NB NAT of the router'),
      title='The floating IP has no NAT entry in OVN',
      needs=('ovn.nb', 'neutron'),
      detects='A floating IP Neutron associates with the instance\'s port has no dnat_and_snat entry (external_ip = the '
              'floating IP, logical_ip = the fixed IP) in any logical router of the NB DB: nothing translates it.',
      cites='neutron_db_info (the port\'s floating IPs), ovn_info (the routers\' NAT entries).',
      advice='`neutron-ovn-db-sync-util --ovn-neutron_sync_mode repair`, or disassociate and associate the floating IP again '
             '(`openstack server remove floating ip` / `add floating ip`).',
      tests=(UNIT + 'test_floating_ip_nat_missing', LAB + '[ovn_fip_nat_missing]'))
def floating_ip_nat_missing(m):
    fips = [f for f in (m.port or {}).get('floating_ips') or [] if f.get('floating_ip_address')]
    if not fips or m.nb is None:
        return None
    fixed = [f.get('ip_address') for f in (m.port or {}).get('fixed_ips') or []]
    nats = [(r['name'], n) for r in m.nb.get('logical_routers') or [] for n in r.get('nat') or [] if n.get('type') == 'dnat_and_snat']
    items = []
    for f in fips:
        addr = f['floating_ip_address']
        hit = [(r, n) for r, n in nats if n.get('external_ip') == addr and (not fixed or n.get('logical_ip') in fixed)]
        if hit:
            continue
        present = ['%s: %s -> %s' % (r, n.get('external_ip'), n.get('logical_ip')) for r, n in nats]
        items.append(ev('ovn-nb', 'ovn_info', 'no dnat_and_snat %s -> %s in any logical router (present: %s)' % (
            addr, ', '.join(str(x) for x in fixed), '; '.join(present) or 'none')))
    if not items:
        return None
    return finding(items, 'OVN does not translate the floating IP of %s: `neutron-ovn-db-sync-util --ovn-neutron_sync_mode log`, '
                          'then `repair`; or `openstack server remove floating ip %s %s` and add it again.' % (
                              m.name, m.inst['uuid'] or m.name, fips[0]['floating_ip_address']),
                   summary='%s: floating IP %s not translated by OVN' % (m.name, fips[0]['floating_ip_address']))


@rule(B, 'floating_ip_stale', 85, 'control_plane', ('db', 'Neutron DB floatingips'),
      tests=(UNIT + 'test_floating_ip_stale', LAB + '[ovn_stale_fip]'), **STALE_FIP)
def floating_ip_stale(m):
    return stale_floating_ip(m)


@rule(B, 'provider_uplink_down', 90, 'beyond_gateway', ('hop', 'the gateway chassis\' provider uplink'),
      title='The provider uplink of the gateway chassis is down',
      needs=('network.ovs', 'network.interfaces'),
      when=lambda m: m.router is not None,
      detects='A physical port of a bridge the gateway chassis maps to a provider network (its ovn-bridge-mappings, such as '
              'physnet1:br-ex) is down: the router\'s gateway and the floating IPs are cut from the outside.',
      cites='ovs_info of the gateway chassis (ovn-bridge-mappings, the bridge\'s ports), interface_info (their state).',
      advice='`ip link set <uplink> up` on the gateway chassis; check the cable/switch port (`ethtool <uplink>`), or move the '
             'router\'s gateway to another chassis (`ovn-nbctl lrp-set-gateway-chassis`).',
      tests=(UNIT + 'test_provider_uplink_down', LAB + '[ovn_brex_uplink_down]'))
def provider_uplink_down(m):
    maps = (((m.novs or {}).get('open_vswitch') or {}).get('ovn') or {}).get('bridge_mappings') or ''
    bridges = [x.split(':', 1)[1] for x in maps.split(',') if ':' in x]
    return uplink_down(m, bridges, hop=(m.hop('uplink') or {}).get('id'))


@rule(B, 'metadata_proxy_down', 82, 'compute', ('stack', 'the metadata proxy of the network (ovnmeta-)'),
      title='Nothing serves the instances\' metadata on their chassis',
      needs=('compute.metadata',),
      when=lambda m: bool(m.metadata_ports),
      detects='The instance\'s network has an OVN metadata port, and on the instance\'s chassis its namespace '
              'ovnmeta-<network id> is missing (neutron-ovn-metadata-agent did not provision the network there) or nothing '
              'listens on 169.254.169.254:80 in it (the agent\'s haproxy is down): the instance gets no metadata (no ssh key, '
              'no user data) although its pings pass.',
      cites='neutron_db_info (network.metadata_ports), socket_info in ovnmeta-<network id> on the compute node.',
      advice='On the compute node `systemctl restart neutron-ovn-metadata-agent` (it provisions ovnmeta-<network id> and '
             'respawns haproxy, its pid file under <state_path>/external/pids/<network id>.pid); `ip netns exec '
             'ovnmeta-<network id> ss -ltnp` shows what listens.',
      tests=(UNIT + 'test_metadata_proxy_down', LAB + '[ovn_metadata_proxy_dead]'))
def metadata_proxy_down(m):
    md = m.metadata or {}
    ns = md.get('netns') or 'ovnmeta-%s' % m.network.get('id')
    mp = m.metadata_ports[0]
    port = ev('neutron-db', 'neutron_db_info', 'metadata port %s of network %s (%s, %s)' % (
        mp.get('id'), m.network.get('id'), mp.get('device_owner'), ', '.join(mp.get('ip_addresses') or []) or 'no address'))
    if md.get('failed'):
        return finding([port, ev(m.chost, 'socket_info', str(md.get('msg') or 'cannot read %s' % ns))],
                       'The metadata agent did not provision network %s on %s (no %s): `systemctl restart '
                       'neutron-ovn-metadata-agent` there, then check its log for the network.' % (m.network.get('id'), m.chost, ns),
                       summary='%s: no metadata namespace %s on %s' % (m.name, ns, m.chost))
    listening = [s for s in md.get('sockets') or [] if s.get('protocol') == 'tcp' and s.get('port') == 80
                 and s.get('address') in ('169.254.169.254', '0.0.0.0', '::')]
    if listening:
        return None
    others = ', '.join('%s:%s' % (s.get('address'), s.get('port')) for s in md.get('sockets') or []) or 'nothing'
    return finding([port, ev(m.chost, 'socket_info', 'nothing listens on 169.254.169.254:80 in %s (listening there: %s)' % (ns, others))],
                   'The metadata proxy of network %s on %s is down: `systemctl restart neutron-ovn-metadata-agent` there (it '
                   'respawns haproxy in %s); the instance gets its metadata again at its next request.' % (
                       m.network.get('id'), m.chost, ns),
                   summary='%s: the metadata proxy of its network is down on %s' % (m.name, m.chost))
