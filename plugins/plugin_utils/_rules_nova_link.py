# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova-network rules of the link layer: the guest NIC, the tap, the bridge, the NIC, the gateway (private)."""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import (
    _first, admin_up, bridges_ports, domain_interfaces, has_carrier, iface_mac, link_state_text, tap_mac)
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, finding, rule

B = 'nova-network'
UNIT = 'tests/unit/plugins/plugin_utils/test_rules.py::'
LAB = 'tests/integration/diagnose/test_diagnose_lab.py::test_fault_names_cause_and_segment'


def problems(iface):
    """interface_info's problems of one interface, as text."""
    out = []
    for p in _first(iface, 'problems', default=[]) or []:
        out.append('%s: %s' % (p.get('code'), p.get('message')) if isinstance(p, dict) else str(p))
    return out


@rule(B, 'instance_interface_down', 10, 'instance', ('hop', 'the instance\'s NIC'),
      title='The instance\'s own NIC is down',
      needs=('guest.interfaces|compute.interfaces',),
      detects='The guest\'s NIC (found by the instance\'s MAC) is administratively down; without guest facts, the '
              'instance\'s tap is up but has no carrier, which is what a guest NIC that is down looks like from the host.',
      cites='interface_info of the guest (flags, operstate), else of the compute node (the tap without LOWER_UP).',
      advice='Inside the instance: `ip link set eth0 up`, then renew DHCP (`udhcpc -i eth0` on Cirros), or reboot it.',
      tests=(UNIT + 'test_instance_interface_down', LAB + '[seed-instance_interface_down]'))
def instance_interface_down(m):
    if m.guest_nic_down():
        return finding([ev(m.ghost, 'interface_info', link_state_text(m.gname, m.gi))]
                       + [ev(m.ghost, 'interface_info', p) for p in problems(m.gi)],
                       'Inside the instance %s bring its NIC up again: `ip link set %s up` (then renew DHCP: `udhcpc -i %s` '
                       'on Cirros, `dhclient %s` elsewhere), or reboot the instance.' % (m.name, m.gname, m.gname, m.gname),
                       hop=m.ghop.get('id'))
    vi = m.cifs.get(m.vnet) if m.vnet else None
    if vi is not None and not m.gifs and admin_up(vi) and not has_carrier(vi):
        return finding([ev(m.chost, 'interface_info', link_state_text(m.vnet, vi) + ' (the guest side of the tap is down)')],
                       'The tap %s is up on %s but has no carrier: the guest NIC of %s is down. From the console: '
                       '`ip link set eth0 up` in the guest, or reboot it.' % (m.vnet, m.chost, m.name), hop=m.ghop.get('id'))
    return None


@rule(B, 'vnet_missing', 20, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='The instance\'s tap does not exist',
      needs=('compute.interfaces', 'hop.vnet'),
      detects='The domain XML names a target dev that is not on the host, or names none and no interface carries the '
              'tap MAC (the guest MAC with fe: as its first octet).',
      cites='libvirt_domain_info (the domain\'s interface), interface_info (no such device / MAC).',
      advice='Hard-reboot the instance (`nova reboot --hard <uuid>`) so libvirt re-creates the tap and plugs it in.',
      tests=(UNIT + 'test_vnet_missing', 'tests/unit/plugins/plugin_utils/test_verdict.py::test_tap_gone_without_target_dev_is_vnet_missing'))
def vnet_missing(m):
    fix = 'hard-reboot the instance (`nova reboot --hard %s`) so libvirt re-creates it and plugs it into %s.' % (
        m.inst['uuid'] or m.name, m.bridge)
    if m.vnet:
        if m.vnet in m.cifs:
            return None
        return finding([ev(m.chost, 'libvirt_domain_info', 'domain XML of %s names target dev %s%s' % (
            m.name, m.vnet, (' (%s)' % m.vhop['notes'][0]) if m.vhop.get('notes') else '')),
            ev(m.chost, 'interface_info', 'no interface named %s on %s' % (m.vnet, m.chost))],
            'The tap %s of %s is gone on %s: %s' % (m.vnet, m.name, m.chost, fix), hop=m.vhop.get('id'))
    tmac = tap_mac(m.vhop.get('mac'))
    if not tmac or not any(d['mac'] == m.vhop['mac'] for d in domain_interfaces(m.cf.get('domains'))):
        return None
    if any(iface_mac(i) == tmac for i in m.cifs.values()):
        return None
    return finding([ev(m.chost, 'libvirt_domain_info', 'the domain XML of %s names no target dev for MAC %s' % (m.name, m.vhop['mac'])),
                    ev(m.chost, 'interface_info', 'no interface on %s carries the tap MAC %s' % (m.chost, tmac))],
                   'The tap of %s is gone on %s: %s' % (m.name, m.chost, fix), hop=m.vhop.get('id'))


@rule(B, 'vnet_down', 30, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='The instance\'s tap is down',
      needs=('compute.interfaces', 'hop.vnet'),
      detects='The instance\'s tap exists on the compute node but is administratively down.',
      cites='interface_info of the compute node (the tap\'s flags and operstate).',
      advice='On the compute node: `ip link set <tap> up`.',
      tests=(UNIT + 'test_vnet_down', LAB + '[seed-vnet_down]'))
def vnet_down(m):
    vi = m.cifs.get(m.vnet) if m.vnet else None
    if vi is None or admin_up(vi):
        return None
    return finding([ev(m.chost, 'interface_info', link_state_text(m.vnet, vi))] + [ev(m.chost, 'interface_info', p) for p in problems(vi)],
                   'On %s: `ip link set %s up` (the tap of %s).' % (m.chost, m.vnet, m.name), hop=m.vhop.get('id'))


@rule(B, 'vnet_not_in_bridge', 40, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='The instance\'s tap is not a port of its bridge',
      needs=('compute.interfaces', 'hop.vnet', 'hop.bridge'),
      detects='The tap\'s master is not the bridge of the domain XML (or the bridge\'s port list lacks the tap).',
      cites='bridge membership from interface_info (master) and the bridge\'s ports.',
      advice='On the compute node: `ip link set <tap> master <bridge>`.',
      tests=(UNIT + 'test_vnet_not_in_bridge', LAB + '[seed-vnet_detached]'))
def vnet_not_in_bridge(m):
    vi = m.cifs.get(m.vnet) if m.vnet else None
    if vi is None or not m.bridge:
        return None
    master = _first(vi, 'master', 'bridge')
    in_bridge = master == m.bridge if master is not None else None
    bports = bridges_ports(m.cf.get('bridges'), m.cf.get('interfaces'))
    if m.bridge in bports:
        in_bridge = m.vnet in bports[m.bridge]
    if in_bridge is not False:
        return None
    return finding([ev(m.chost, 'bridge_info', 'bridge %s ports: %s' % (m.bridge, ', '.join(bports.get(m.bridge, [])) or '(none)')),
                    ev(m.chost, 'interface_info', link_state_text(m.vnet, vi))],
                   'On %s: `ip link set %s master %s` (or `brctl addif %s %s`).' % (m.chost, m.vnet, m.bridge, m.bridge, m.vnet),
                   hop=m.vhop.get('id'))


@rule(B, 'bridge_down', 50, 'instance_to_compute', ('hop', 'the bridge'),
      title='The instance\'s bridge is down or missing',
      needs=('compute.interfaces', 'hop.bridge'),
      detects='The bridge of the domain XML (else of the DB network) is administratively down, or does not exist.',
      cites='interface_info of the compute node (the bridge\'s flags).',
      advice='`ip link set <bridge> up`; a missing bridge: restart nova-network on the node so it re-creates it.',
      tests=(UNIT + 'test_bridge_down', LAB + '[seed-bridge_down]'))
def bridge_down(m):
    if not m.bridge:
        return None
    bi = m.cifs.get(m.bridge)
    if bi is None:
        return finding([ev(m.chost, 'interface_info', 'bridge %s (from the domain XML) does not exist on %s' % (m.bridge, m.chost))],
                       'Bridge %s is missing on %s: restart nova-network there so it re-creates the bridge.' % (m.bridge, m.chost),
                       hop=m.bhop.get('id'))
    if admin_up(bi):
        return None
    return finding([ev(m.chost, 'interface_info', link_state_text(m.bridge, bi))] + [ev(m.chost, 'interface_info', p) for p in problems(bi)],
                   'On %s: `ip link set %s up`.' % (m.chost, m.bridge), hop=m.bhop.get('id'))


@rule(B, 'physical_interface_down', 70, 'compute_to_gateway', ('hop', 'the NIC'),
      title='A NIC on the path is down or has no carrier',
      needs=('compute.interfaces',),
      detects='The bridge uplink (flat_interface / vlan_interface) or the egress NIC of the default route is down or '
              'has no carrier. The segment is that of the NIC\'s hop: the uplink lies between instance and compute node.',
      cites='interface_info of the compute node (flags, carrier).',
      advice='`ip link set <nic> up`; without carrier, the cable or the switch port.',
      tests=(UNIT + 'test_physical_interface_down', LAB + '[seed-physical_interface_down]',
             'tests/unit/plugins/plugin_utils/test_verdict.py::test_uplink_without_carrier_is_physical_interface_down_between_instance_and_compute'))
def physical_interface_down(m):
    out = []
    for h in m.hop_by_kind.get('uplink', []) + m.hop_by_kind.get('physical', []):
        nic = h.get('interface')
        ni = m.cifs.get(nic) if nic else None
        if ni is None or (admin_up(ni) and has_carrier(ni)):
            continue
        how = '`ip link set %s up`' % nic if not admin_up(ni) else 'check the cable/switch port of %s (no carrier)' % nic
        out.append(finding([ev(m.chost, 'interface_info', link_state_text(nic, ni))] + [ev(m.chost, 'interface_info', p) for p in problems(ni)],
                           'On %s: %s.' % (m.chost, how), hop=h.get('id'),
                           segment='compute_to_gateway' if h['kind'] == 'physical' else 'instance_to_compute'))
    return out or None


@rule(B, 'gateway_unreachable', 110, 'compute_to_gateway', ('hop', 'the default gateway'),
      title='The compute node\'s default gateway does not answer',
      needs=('probes',), explained_by=('physical_interface_down',),
      detects='The ladder\'s ping from the compute node to its default gateway got no reply while the egress NIC is up.',
      cites='ping_probe (compute node -> gateway).',
      advice='Check the gateway/router and the link to it (`ip neigh show <gateway>` on the compute node).',
      tests=(UNIT + 'test_gateway_unreachable', LAB + '[seed-gateway_down]'))
def gateway_unreachable(m):
    if m.ladder.get('compute_gateway') is not False:
        return None
    gw = m.hop('gateway')
    return finding([ev(m.chost, 'ping_probe', '%s -> gateway %s: no reply' % (m.chost, gw.get('address')))],
                   'The default gateway %s does not answer %s: check the gateway/router and the link to it '
                   '(`ip neigh show %s` on %s).' % (gw.get('address'), m.on, gw.get('address'), m.on), hop=gw.get('id'))
