# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ML2/OVS rules (private): one per cause, on ``_model_ml2ovs.Ml2OvsModel``.

Facts they read: ``neutron_db_info`` (the instance's port, its binding, its network's segment, DHCP agents and
router, its floating IPs; the audit), on the compute node ``interface_info`` (tap, qbr, qvb, qvo, the tunnel
interface), ``ovs_info`` with flows (the qvo port's tag and iface-id on br-int, br-tun's tunnel ports and the agent's
tables 4 and 22) and ``iptables_info`` (the agent's ``neutron-openvswi-*`` chains, the counters that moved during
the probes); on the network node ``interface_info`` (br-ex's uplink), ``iptables_info`` in ``qrouter-<router>`` (the
L3 agent's NAT) and ``dnsmasq_info`` in ``qdhcp-<network>`` (the DHCP agent's dnsmasq).
"""

from __future__ import annotations

import re

from ansible_collections.cloudops.netdiag.plugins.module_utils._neutrondb import sg_rule_text
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import link_state_text
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model_ml2ovs import DEAD_VLAN, OVERHEAD, VXLAN_OVERHEAD
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._netfilter import nat_for_floating
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, finding, rule
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules_neutron import STALE_FIP, stale_floating_ip, uplink_down

B = 'ml2ovs'
UNIT = 'tests/unit/plugins/plugin_utils/test_rules_ml2ovs.py::'
LAB = 'tests/integration/diagnose/test_diagnose_ml2ovs.py::test_ml2ovs_fault_names_its_cause'
OVS_CHAIN = 'neutron-openvswi-'


@rule(B, 'port_binding_failed', 0, 'control_plane', ('db', 'Neutron DB ml2_port_bindings'),
      title='The instance\'s port failed to bind',
      needs=('neutron',),
      detects='The ML2 binding of the instance\'s port has vif_type binding_failed: no mechanism driver could bind it on its host.',
      cites='neutron_db_info (the port\'s binding: host, vif_type; the agents of that host).',
      advice='`openstack port show <port> -c binding_host_id -c binding_vif_type`; check that the host\'s Open vSwitch agent '
             'is alive (`openstack network agent list --host <host>`) and maps the network\'s physical network or tunnel type, '
             'then rebind: `openstack port set --host <host> <port>` or hard-reboot the instance.',
      tests=(UNIT + 'test_port_binding_failed', LAB + '[ovs_binding_failed]'))
def port_binding_failed(m):
    if m.binding.get('vif_type') != 'binding_failed':
        return None
    host = m.binding.get('host') or '(none)'
    agents = ', '.join('%s (heartbeat %s)' % (a.get('agent_type'), a.get('heartbeat_timestamp')) for a in m.binding.get('agents') or [])
    return finding([ev('neutron-db', 'neutron_db_info', 'port %s: binding host %s, vif_type binding_failed; agents of %s: %s' % (
        m.port_id, host, host, agents or 'none'))],
        'No mechanism driver could bind port %s of %s on %s: `openstack network agent list --host %s` (is its Open vSwitch '
        'agent alive, does it map the network\'s segment?), then `openstack port set --host %s %s` or hard-reboot the instance.'
        % (m.port_id, m.name, host, host, host, m.port_id))


@rule(B, 'ovs_port_missing', 20, 'instance_to_compute', ('hop', 'the instance\'s qvo port on br-int'),
      title='The instance\'s port is not on br-int',
      needs=('compute.ovs', 'neutron'),
      detects='No interface of the compute node\'s switch carries external_ids:iface-id=<port id>, and none is named '
              'qvo<port id[:11]> (tap<port id[:11]> without the hybrid plug): the agent cannot wire the port.',
      cites='ovs_info (br-int\'s ports), interface_info (whether the device still exists on the host).',
      advice='Hard-reboot the instance (`openstack server reboot --hard <server>`) so that nova/os-vif plug it again; by hand '
             '`ovs-vsctl add-port br-int qvo<...> -- set interface qvo<...> external_ids:iface-id=<port> '
             'external_ids:attached-mac=<mac> external_ids:iface-status=active external_ids:vm-uuid=<instance>`.',
      tests=(UNIT + 'test_ovs_port_missing', LAB + '[ovs_qvo_missing]'))
def ovs_port_missing(m):
    if not m.port_id or m.ovs_hit is not None:
        return None
    exists = m.cifs.get(m.ovs_dev) if m.cifs else None
    items = [ev(m.chost, 'ovs_info', 'no interface with iface-id %s and no %s on any bridge of %s' % (m.port_id, m.ovs_dev, m.chost))]
    if exists is not None:
        items.append(ev(m.chost, 'interface_info', '%s exists on the host (%s) but is on no OVS bridge' % (
            m.ovs_dev, link_state_text(m.ovs_dev, exists))))
    mac = (m.port or {}).get('mac_address')
    return finding(items, 'Port %s of %s is not on br-int of %s: hard-reboot the instance (`openstack server reboot --hard %s`), '
                          'or on %s `ovs-vsctl add-port br-int %s -- set interface %s external_ids:iface-id=%s '
                          'external_ids:attached-mac=%s external_ids:iface-status=active external_ids:vm-uuid=%s`.' % (
                              m.port_id, m.name, m.on, m.inst['uuid'] or m.name, m.on, m.ovs_dev, m.ovs_dev, m.port_id, mac,
                              m.inst['uuid']), hop=m.qhop.get('id'))


@rule(B, 'tap_not_in_qbr', 25, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='The instance\'s tap is not in its qbr bridge',
      needs=('compute.interfaces', 'neutron'),
      when=lambda m: m.hybrid is not False,
      detects='With the hybrid plug (iptables_hybrid firewall) the tap must be a port of the Linux bridge qbr<port id[:11]>; '
              'its master is another device or none.',
      cites='interface_info (the tap\'s master).',
      advice='`ip link set tap<...> master qbr<...>` on the compute node, or hard-reboot the instance.',
      tests=(UNIT + 'test_tap_not_in_qbr', LAB + '[ovs_qbr_detached]'))
def tap_not_in_qbr(m):
    tap = m.cifs.get(m.tap)
    if tap is None or m.cifs.get(m.qbr) is None or tap.get('master') == m.qbr:
        return None
    return finding([ev(m.chost, 'interface_info', '%s: master %s (expected %s)' % (m.tap, tap.get('master') or 'none', m.qbr))],
                   'On %s: `ip link set %s master %s` (the tap of %s left its bridge).' % (m.on, m.tap, m.qbr, m.name),
                   hop=m.thop.get('id'))


@rule(B, 'hybrid_device_down', 28, 'instance_to_compute', ('hop', 'the instance\'s tap'),
      title='A device of the instance\'s plug is down',
      needs=('compute.interfaces', 'neutron'),
      detects='One of tap, qbr, qvb, qvo of the instance\'s port is administratively down or has no carrier on the compute node.',
      cites='interface_info (flags and operstate).',
      advice='`ip link set <device> up` on the compute node.',
      tests=(UNIT + 'test_hybrid_device_down',))
def hybrid_device_down(m):
    names = [m.tap, m.qbr, m.qvb, m.qvo] if m.hybrid is not False else [m.tap]
    down = [(n, m.cifs[n]) for n in names if n and m.cifs.get(n) is not None and not m.iface_up(m.cifs[n])]
    if not down:
        return None
    return finding([ev(m.chost, 'interface_info', link_state_text(n, i)) for n, i in down],
                   'On %s: %s.' % (m.on, ' and '.join('`ip link set %s up`' % n for n, dummy in down)), hop=m.thop.get('id'))


@rule(B, 'dead_vlan', 30, 'compute', ('hop', 'the instance\'s qvo port on br-int'),
      title='The instance\'s port is in the dead VLAN',
      needs=('compute.ovs', 'neutron'),
      detects='Its port on br-int has tag 4095: the agent parks there a port it could not wire (binding or segment '
              'missing, an error while processing it); br-int drops that VLAN in table 0.',
      cites='ovs_info (the port\'s tag; the drop flow of table 0 with its counters).',
      advice='Look at the openvswitch agent\'s log on the node for the port; `openstack port show <port>` (binding, status); '
             'restart the agent (`systemctl restart neutron-openvswitch-agent`) once the cause is fixed, it retags the port.',
      tests=(UNIT + 'test_dead_vlan', LAB + '[ovs_dead_vlan]'))
def dead_vlan(m):
    if m.ovs_hit is None or m.ovs_hit[1].get('tag') != DEAD_VLAN:
        return None
    b = m.ovs_hit[0]
    ofport = m.ovs_hit[2].get('ofport')
    # the agent's drop of the port (table 0, in_port=its OpenFlow port) and of the dead VLAN
    drop = [f for f in b.get('flows') or [] if f.get('table') == 0 and f.get('actions') == 'drop' and (
        _vlan(_MATCH_VLAN.search(f.get('match') or '')) == DEAD_VLAN or (ofport is not None and re.search(
            r'(?:^|,)in_port=(?:%s|"?%s"?)(?:,|$)' % (ofport, re.escape(m.ovs_hit[2]['name'])), f.get('match') or '')))]
    items = [ev(m.chost, 'ovs_info', 'port %s of %s: tag %d (the dead VLAN)' % (m.ovs_hit[1]['name'], b['name'], DEAD_VLAN))]
    items += [ev(m.chost, 'ovs_info', 'flow table=0 priority=%s %s actions=%s: %s packets' % (
        f.get('priority'), f['match'], f['actions'], f.get('n_packets'))) for f in drop]
    items += [ev(m.chost, 'ovs_info', x) for x in m.trace_drops()]
    return finding(items, 'The openvswitch agent of %s parked port %s in the dead VLAN: read its log for the port, fix the '
                          'binding (`openstack port show %s`), then `systemctl restart neutron-openvswitch-agent` on %s.' % (
                              m.on, m.port_id, m.port_id, m.on), hop=m.qhop.get('id'))


_MATCH_VLAN = re.compile(r'(?:dl_vlan|vlan_vid)=(0x[0-9a-f]+|\d+)|vlan_tci=(0x[0-9a-f]+)/0x1fff')
_SET_VLAN = re.compile(r'mod_vlan_vid:(\d+)|set_field:(0x[0-9a-f]+|\d+)->vlan_vid')
_SET_TUN = re.compile(r'load:(0x[0-9a-f]+|\d+)->NXM_NX_TUN_ID|set_tunnel:(0x[0-9a-f]+|\d+)|set_field:(0x[0-9a-f]+|\d+)->tun_id')


def _vlan(m):
    """The VLAN id of a match of _MATCH_VLAN or _SET_VLAN (OpenFlow 1.3 writes it with the present bit 0x1000)."""
    if not m:
        return None
    return int(next(g for g in m.groups() if g), 0) & 0xfff


def _local_vlans(flows):
    """The local VLANs br-tun translates: {vlan: segmentation id} from table 22 (out) and {segmentation id: vlan} from
    table 4 (in); OpenFlow 1.0 (mod_vlan_vid, strip_vlan) and 1.3 (push_vlan, set_field) spellings alike."""
    out, inbound = {}, {}
    for f in flows or []:
        if f.get('table') == 22:
            vlan = _vlan(_MATCH_VLAN.search(f.get('match') or ''))
            ms = _SET_TUN.search(f.get('actions') or '')
            if vlan is not None:
                out[vlan] = int(next(g for g in ms.groups() if g), 0) if ms else None
        elif f.get('table') == 4:
            mt = re.search(r'tun_id=(0x[0-9a-f]+|\d+)', f.get('match') or '')
            if mt:
                inbound[int(mt.group(1), 0)] = _vlan(_SET_VLAN.search(f.get('actions') or ''))
    return out, inbound


@rule(B, 'local_vlan_tag_missing', 32, 'compute', ('hop', 'the instance\'s qvo port on br-int'),
      title='The instance\'s port on br-int has no local VLAN tag',
      needs=('compute.ovs', 'neutron'),
      detects='Its port on br-int has no tag (or a tag br-tun does not translate to the network\'s segment): its frames '
              'reach br-tun in the wrong VLAN and are not sent to the tunnels.',
      cites='ovs_info (the port\'s tag; br-tun\'s table 22 flows and the VLANs they translate).',
      advice='`ovs-vsctl set port qvo<...> tag=<the network\'s local VLAN on this node>` (the VLAN of the network\'s other '
             'ports on br-int), or restart the openvswitch agent, which tags its ports again.',
      tests=(UNIT + 'test_local_vlan_tag_missing', LAB + '[ovs_vlan_tag_missing]'))
def local_vlan_tag_missing(m):
    if m.ovs_hit is None:
        return None
    tag = m.ovs_hit[1].get('tag')
    if tag == DEAD_VLAN:
        return None
    out, inbound = _local_vlans(m.br_tun_flows())
    seg = m.segment.get('segmentation_id')
    want = inbound.get(seg) if seg is not None else None
    name = m.ovs_hit[1]['name']
    traced = [ev(m.chost, 'ovs_info', x) for x in m.trace_drops()]
    if tag is None:
        return finding([ev(m.chost, 'ovs_info', 'port %s of %s: no tag (trunk %s)' % (name, m.ovs_hit[0]['name'], m.ovs_hit[1].get('trunks') or 'all'))]
                       + ([ev(m.chost, 'ovs_info', 'br-tun translates segment %s to local VLAN %s' % (seg, want))] if want else []) + traced,
                       'On %s: `ovs-vsctl set port %s tag=%s` (the local VLAN of network %s there), or restart the '
                       'openvswitch agent.' % (m.on, name, want if want else '<local VLAN>', m.network.get('id')), hop=m.qhop.get('id'))
    if out and tag not in out and (want is None or want != tag):
        return finding([ev(m.chost, 'ovs_info', 'port %s: tag %s; br-tun table 22 floods only VLANs %s' % (
            name, tag, ', '.join(str(v) for v in sorted(out))))] + traced,
            'On %s: `ovs-vsctl set port %s tag=%s`, or restart the openvswitch agent.' % (m.on, name, want or '<local VLAN>'),
            hop=m.qhop.get('id'))
    return None


@rule(B, 'tunnel_endpoint_down', 50, 'compute_to_gateway', ('hop', 'the tunnel endpoint'),
      title='The compute node\'s tunnel endpoint is down',
      needs=('compute.ovs', 'compute.interfaces'),
      detects='The interface that holds the local_ip of br-tun\'s tunnel ports is down (or no interface holds it).',
      cites='ovs_info (the tunnel ports\' local_ip and remote_ip), interface_info (the interface with that address).',
      advice='Bring the interface up (`ip link set <dev> up`) and check the route to the other nodes\' tunnel addresses.',
      tests=(UNIT + 'test_tunnel_endpoint_down', LAB + '[ovs_tunnel_down]'))
def tunnel_endpoint_down(m):
    if not m.local_ip:
        return None
    remotes = ', '.join(sorted('%s -> %s' % (i['name'], (i.get('options') or {}).get('remote_ip')) for dummy, dummy2, i in m.tunnels))
    if m.tun_iface is None:
        return finding([ev(m.chost, 'interface_info', 'no interface of %s holds the tunnel address %s (%s)' % (m.chost, m.local_ip, remotes))],
                       'On %s the tunnel address %s (local_ip of br-tun\'s ports) is on no interface: add it back.' % (m.on, m.local_ip),
                       hop=m.tunhop.get('id'))
    if m.iface_up(m.tun_iface):
        return None
    return finding([ev(m.chost, 'interface_info', link_state_text(m.tun_dev, m.tun_iface)),
                    ev(m.chost, 'ovs_info', 'br-tun tunnels from %s: %s' % (m.local_ip, remotes))],
                   'On %s: `ip link set %s up` (it holds the tunnel address %s), then check the route to the other nodes.' % (
                       m.on, m.tun_dev, m.local_ip), hop=m.tunhop.get('id'))


@rule(B, 'underlay_mtu_too_small', 60, 'compute_to_gateway', ('hop', 'the tunnel endpoint'),
      title='The underlay MTU is too small for the network\'s MTU plus the tunnel header',
      needs=('compute.ovs', 'compute.interfaces', 'neutron'),
      detects='The interface that holds the tunnel address (or a port under it) has an MTU below the network\'s MTU plus '
              'the encapsulation (50 bytes for vxlan on IPv4): full-size frames of the instance no longer fit.',
      cites='neutron_db_info (the network MTU, its segment type), interface_info (the MTU of the tunnel interface).',
      advice='Raise the underlay MTU (`ip link set <dev> mtu <network MTU + 50>`), or lower the network\'s MTU '
             '(`openstack network set --mtu`) and let the instances renew DHCP.',
      tests=(UNIT + 'test_underlay_mtu_too_small', LAB + '[ovs_mtu_underlay]'))
def underlay_mtu_too_small(m):
    if m.tun_iface is None or not m.net_mtu or not m.tun_iface.get('mtu'):
        return None
    over = OVERHEAD.get(m.segment.get('network_type') or (m.tunnels[0][2].get('type') if m.tunnels else ''), VXLAN_OVERHEAD)
    need = int(m.net_mtu) + over
    devs = [(m.tun_dev, m.tun_iface)]
    # an OVS bridge holding the address (the userspace datapath's br-phy): its physical ports carry the packets too
    for dummy, dummy2, i in ((b, p, i) for b in (m.ovs or {}).get('bridges') or [] if b.get('name') == m.tun_dev
                             for p in b.get('ports') or [] for i in p.get('interfaces') or []):
        if i.get('type') in (None, '', 'system') and m.cifs.get(i.get('name')) is not None:
            devs.append((i['name'], m.cifs[i['name']]))
    small = [(n, i) for n, i in devs if i.get('mtu') and int(i['mtu']) < need]
    if not small:
        return None
    low = min(int(i['mtu']) for dummy, i in small)
    return finding([ev(m.chost, 'interface_info', '%s (tunnel address %s): mtu %s' % (n, m.local_ip, i['mtu'])) for n, i in small]
                   + [ev('neutron-db', 'neutron_db_info', 'network %s: mtu %s, + %d of %s = %d' % (
                       m.network.get('id'), m.net_mtu, over, m.segment.get('network_type') or 'vxlan', need))],
                   'On %s: %s, or lower the network\'s MTU to %d (`openstack network set --mtu %d %s`).' % (
                       m.on, ' and '.join('`ip link set %s mtu %d`' % (n, need) for n, dummy in small), low - over, low - over,
                       m.network.get('id')), hop=m.tunhop.get('id'))


@rule(B, 'tunnel_flow_missing', 65, 'compute_to_gateway', ('hop', 'the tunnel endpoint'),
      title='br-tun does not map the network\'s tunnel id to its local VLAN',
      needs=('compute.ovs', 'neutron'),
      detects='br-tun\'s flows were read and none of table 4 (vxlan in) matches the network\'s segmentation id: '
              'packets from the tunnels for the network hit the table\'s drop.',
      cites='ovs_info (br-tun\'s flows with counters), neutron_db_info (the network\'s segment).',
      advice='Restart the openvswitch agent on the node (`systemctl restart neutron-openvswitch-agent`), which reinstalls its '
             'flows; confirm with `ovs-ofctl dump-flows br-tun table=4`.',
      tests=(UNIT + 'test_tunnel_flow_missing', LAB + '[ovs_tunnel_flow_missing]'))
def tunnel_flow_missing(m):
    flows = m.br_tun_flows()
    seg = m.segment.get('segmentation_id')
    if not flows or seg is None or m.segment.get('network_type') not in ('vxlan', 'gre', 'geneve'):
        return None
    dummy, inbound = _local_vlans(flows)
    if seg in inbound:
        return None
    drop = [f for f in flows if f.get('table') == 4 and f.get('actions') == 'drop']
    return finding([ev(m.chost, 'ovs_info', 'br-tun table 4 has no flow for tun_id=0x%x (segment %s); it maps %s' % (
        int(seg), seg, ', '.join('0x%x -> VLAN %s' % (k, v) for k, v in sorted(inbound.items())) or 'nothing'))]
        + [ev(m.chost, 'ovs_info', 'flow table=4 priority=%s actions=drop: %s packets' % (f.get('priority'), f.get('n_packets')))
           for f in drop],
        'On %s: `systemctl restart neutron-openvswitch-agent` (it reinstalls br-tun\'s flows), then '
        '`ovs-ofctl dump-flows br-tun table=4` shows tun_id=0x%x again.' % (m.on, int(seg)), hop=m.tunhop.get('id'))


@rule(B, 'switch_drops_instance_traffic', 68, 'compute', ('stack', 'the compute node\'s switch (OpenFlow tables)'),
      title='The compute node\'s switch drops the instance\'s packets',
      needs=('compute.ovs', 'neutron'), certainty='likely',
      explained_by=('ovs_port_missing', 'dead_vlan', 'local_vlan_tag_missing', 'tunnel_flow_missing', 'tunnel_endpoint_down'),
      detects='ovs-appctl ofproto/trace of the instance\'s ping to its gateway (else its second instance), from its port on '
              'br-int, ends in a drop - a rule the agent did not write, or a table it left empty - and no more precise cause '
              'explains it.',
      cites='ovs_info with trace (every table the packet went through, bridge after bridge, and the rule that dropped it).',
      advice='`ovs-ofctl dump-flows <bridge> table=<n>` on the node; find who installed the dropping flow (its cookie: the '
             'agent\'s own cookies are in `ovs-ofctl dump-flows br-int | grep cookie`), remove it (`ovs-ofctl del-flows`) or '
             'restart the openvswitch agent, which reinstalls its flows.',
      tests=(UNIT + 'test_switch_drops_instance_traffic',))
def switch_drops_instance_traffic(m):
    drops = m.trace_drops()
    if not drops:
        return None
    first = next(d for t in m.traces() for d in (t.get('drops') or [{'bridge': t.get('bridge'), 'table': '?'}]) if t.get('dropped') or t.get('drops'))
    return finding([ev(m.chost, 'ovs_info', x) for x in drops],
                   'On %s: `ovs-ofctl dump-flows %s table=%s` shows the flow that drops the packets of %s; remove it '
                   '(`ovs-ofctl del-flows`) or restart the openvswitch agent, which reinstalls its own.' % (
                       m.on, first.get('bridge'), first.get('table'), m.name))


def _port_chain(chain, port_id):
    return bool(port_id) and chain.startswith(OVS_CHAIN) and chain[len(OVS_CHAIN):len(OVS_CHAIN) + 1] in 'ios' \
        and chain[len(OVS_CHAIN) + 1:] == port_id[:10]


@rule(B, 'security_group_drop', 70, 'compute', ('stack', 'the security group (iptables_hybrid)'),
      title='The instance\'s security group drops its traffic',
      needs=('compute.iptables_moved', 'neutron'),
      when=lambda m: any(isinstance(p, dict) and p.get('reachable') is False for p in m.inputs.get('probes') or []),
      detects='During the probes, the counters of the instance\'s own chains (neutron-openvswi-i/o/s<port id[:10]>) moved on '
              'their jump to neutron-openvswi-sg-fallback or on a DROP: no security group rule lets that traffic in (or out).',
      cites='iptables_info with compare_to around the probes (the rules whose counters moved), neutron_db_info (the '
            'port\'s security groups and their rules).',
      advice='Add the missing rule to the instance\'s security group (`openstack security group rule create --ingress '
             '--protocol icmp <group>`, or the port it needs), or attach the right group to the port.',
      tests=(UNIT + 'test_security_group_drop', LAB + '[ovs_sg_drop]'))
def security_group_drop(m):
    hits = [r for r in m.moved or [] if _port_chain(str(r.get('chain') or ''), m.port_id)
            and (r.get('drop') or str(r.get('target') or '').endswith('sg-fallback'))]
    if not hits:
        return None
    groups = (m.port or {}).get('security_groups') or []
    desc = '; '.join('%s: %s' % (g.get('name'), ', '.join(sg_rule_text(r) for r in g.get('rules') or [])) for g in groups)
    items = [ev(m.chost, 'iptables_info', '%s #%s %s: +%s packets during the probes' % (
        r.get('chain'), r.get('index'), r.get('rule'), r.get('packets'))) for r in hits]
    return finding(items + [ev('neutron-db', 'neutron_db_info', 'security groups of port %s: %s' % (m.port_id, desc or 'none'))],
                   'The security group of %s drops the probed traffic (the fallback DROP of its chain counted it): add the rule it '
                   'needs (`openstack security group rule create --ingress --protocol icmp %s` for ping) to the group of port %s.' % (
                       m.name, groups[0].get('id') if groups else '<group>', m.port_id))


@rule(B, 'dhcp_agent_dnsmasq_down', 75, 'control_plane', ('stack', 'the DHCP agent\'s dnsmasq'),
      title='The DHCP agent\'s dnsmasq of the network is not running',
      needs=('network.dnsmasq', 'neutron'),
      detects='The network has a DHCP-enabled subnet and a DHCP agent, but no dnsmasq runs in its qdhcp-<network id> '
              'namespace (a pid file naming a dead process is left, or none).',
      cites='dnsmasq_info in the qdhcp namespace (processes, the pid file under the agent\'s dhcp_confs).',
      advice='Restart the DHCP agent on the network node (`systemctl restart neutron-dhcp-agent`), which respawns dnsmasq; '
             'then renew DHCP in the instance.',
      tests=(UNIT + 'test_dhcp_agent_dnsmasq_down', LAB + '[ovs_dhcp_dead]'))
def dhcp_agent_dnsmasq_down(m):
    d = m.nf.get('dnsmasq') or {}
    if not any((f.get('subnet') or {}).get('enable_dhcp') for f in (m.port or {}).get('fixed_ips') or []):
        return None
    if not m.network.get('dhcp_agents'):
        return None
    mains = [p for p in d.get('processes') or [] if p.get('role') != 'helper']
    if mains:
        return None
    pfs = d.get('pid_files') or []
    items = [ev(m.nhost, 'dnsmasq_info', 'no dnsmasq runs in qdhcp-%s' % m.network.get('id'))]
    items += [ev(m.nhost, 'dnsmasq_info', 'pid file %s: %s%s' % (p.get('path'), p.get('status'), ' (pid %s)' % p['pid'] if p.get('pid') else ''))
              for p in pfs]
    agent = m.network['dhcp_agents'][0]
    items.append(ev('neutron-db', 'neutron_db_info', 'DHCP agent %s on %s hosts network %s' % (
        agent.get('id'), agent.get('host'), m.network.get('id'))))
    return finding(items, 'No DHCP server answers on network %s: on %s `systemctl restart neutron-dhcp-agent` (it respawns '
                          'dnsmasq in qdhcp-%s), then renew DHCP in %s.' % (m.network.get('id'), agent.get('host'), m.network.get('id'),
                                                                            m.name),
                   summary='%s: the DHCP agent\'s dnsmasq of its network is down' % m.name)


@rule(B, 'floating_ip_nat_missing', 80, 'compute_to_gateway', ('stack', 'the L3 agent\'s NAT'),
      title='The router does not translate the instance\'s floating IP',
      needs=('network.router_iptables', 'neutron'),
      when=lambda m: any(f.get('floating_ip_address') for f in (m.port or {}).get('floating_ips') or []),
      detects='A floating IP Neutron associates with the instance\'s port has no DNAT rule (floating IP -> fixed IP) in the '
              'nat table of its router\'s qrouter namespace: the router answers for the address itself, nothing reaches the '
              'instance.',
      cites='neutron_db_info (the floating IP and its router), iptables_info in qrouter-<router> (the L3 agent\'s NAT chains).',
      advice='Re-sync the router: `openstack router set --disable <router>` then `--enable`, or restart the L3 agent; or '
             'disassociate and associate the floating IP again.',
      tests=(UNIT + 'test_floating_ip_nat_missing', LAB + '[ovs_fip_nat_missing]'))
def floating_ip_nat_missing(m):
    ipt = m.nf.get('router_iptables')
    fixed = [f.get('ip_address') for f in (m.port or {}).get('fixed_ips') or []]
    items, fip = [], None
    for f in (m.port or {}).get('floating_ips') or []:
        addr = f.get('floating_ip_address')
        dnat, dummy = nat_for_floating(ipt, addr, fixed[0] if fixed else None)
        if dnat:
            continue
        fip = fip or f
        others = [r.get('rule') for dummy2, dummy3, r in nat_for_floating(ipt, addr, None)[0]]
        items.append(ev(m.nhost, 'iptables_info', 'qrouter-%s nat: no DNAT %s -> %s%s' % (
            f.get('router_id'), addr, ', '.join(str(x) for x in fixed), ' (it has: %s)' % '; '.join(others) if others else '')))
    if not items:
        return None
    return finding(items, 'The L3 agent of router %s does not translate %s: `openstack router set --disable %s` then `--enable %s` '
                          '(or restart neutron-l3-agent on %s), or `openstack server remove floating ip %s %s` and add it again.' % (
                              fip.get('router_id'), fip.get('floating_ip_address'), fip.get('router_id'), fip.get('router_id'),
                              m.nhost, m.inst['uuid'] or m.name, fip.get('floating_ip_address')),
                   summary='%s: floating IP %s not translated by its router' % (m.name, fip.get('floating_ip_address')))


@rule(B, 'metadata_proxy_down', 82, 'compute_to_gateway', ('stack', 'the router\'s metadata proxy'),
      title='Nothing listens where the router sends the instances\' metadata requests',
      needs=('network.router_iptables', 'network.router_sockets'),
      when=lambda m: m.router is not None,
      detects='The router\'s nat table redirects 169.254.169.254:80 to a local port (the L3 agent\'s metadata proxy, 9697), '
              'and no socket listens on that port in its qrouter namespace: the instances get no metadata (no ssh key, no '
              'user data).',
      cites='iptables_info in qrouter-<router> (the REDIRECT rule), socket_info in qrouter-<router> (what listens).',
      advice='Restart the L3 agent (`systemctl restart neutron-l3-agent`), which respawns the router\'s metadata proxy '
             '(haproxy, its pid file under <state_path>/external/pids/<router id>.pid); check neutron-metadata-agent too.',
      tests=(UNIT + 'test_metadata_proxy_down', LAB + '[ovs_metadata_proxy_dead]'))
def metadata_proxy_down(m):
    ipt = m.nf.get('router_iptables') or {}
    redirects = []
    for chain, c in ((ipt.get('tables') or {}).get('nat') or {}).get('chains', {}).items():
        for r in c.get('rules') or []:
            if r.get('target') == 'REDIRECT' and '169.254.169.254' in str(r.get('destination') or '') and \
                    (r.get('target_args') or {}).get('to-ports'):
                redirects.append(r)
    if not redirects:
        return None
    ports = sorted({int(str(r['target_args']['to-ports']).split('-', maxsplit=1)[0]) for r in redirects})
    listening = sorted({s.get('port') for s in m.nf.get('router_sockets') or [] if s.get('protocol') == 'tcp'})
    missing = [p for p in ports if p not in listening]
    if not missing:
        return None
    qr = 'qrouter-%s' % m.router.get('id')
    return finding([ev(m.nhost, 'iptables_info', '%s nat: %s' % (qr, r.get('rule'))) for r in redirects]
                   + [ev(m.nhost, 'socket_info', 'nothing listens on tcp port %s in %s (listening there: %s)' % (
                       ', '.join(str(p) for p in missing), qr, ', '.join(str(p) for p in listening) or 'nothing'))],
                   'The metadata proxy of router %s is down: on %s `systemctl restart neutron-l3-agent` (it respawns the proxy in '
                   '%s), then check `neutron-metadata-agent`; the instances get their metadata again at their next request.' % (
                       m.router.get('id'), m.nhost, qr),
                   summary='%s: the metadata proxy of its router is down' % m.name)


@rule(B, 'floating_ip_stale', 85, 'control_plane', ('db', 'Neutron DB floatingips'),
      tests=(UNIT + 'test_floating_ip_stale', LAB + '[ovs_stale_fip]'), **STALE_FIP)
def floating_ip_stale(m):
    return stale_floating_ip(m)


@rule(B, 'provider_uplink_down', 90, 'beyond_gateway', ('hop', 'br-ex uplink'),
      title='The provider uplink of the network node is down',
      needs=('network.ovs', 'network.interfaces'),
      when=lambda m: m.router is not None,
      detects='A physical port of the network node\'s provider bridge (br-ex, the bridge of the external network) is down: '
              'the router\'s gateway and the floating IPs are cut from the outside.',
      cites='ovs_info of the network node (br-ex\'s ports), interface_info (their state).',
      advice='`ip link set <uplink> up` on the network node; check the cable/switch port (`ethtool <uplink>`).',
      tests=(UNIT + 'test_provider_uplink_down', LAB + '[ovs_brex_uplink_down]'))
def provider_uplink_down(m):
    # the provider bridges: br-ex, and any bridge patched to br-int by the agent (phy-<bridge>)
    bridges = [b['name'] for b in (m.novs or {}).get('bridges') or []
               if b.get('name') == 'br-ex' or any(str(i.get('name', '')).startswith('phy-') for p in b.get('ports') or []
                                                  for i in p.get('interfaces') or [])]
    return uplink_down(m, bridges, hop=(m.hop('uplink') or {}).get('id'))
