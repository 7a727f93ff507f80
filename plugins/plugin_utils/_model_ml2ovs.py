# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence model of the ML2/OVS backend (private): what the ``ml2ovs`` rules read.

``evidence(...)`` assembles, from the facts modules' results, the inputs of ``_engine.evaluate`` for an instance on
ML2/OVS (the openvswitch agent with the iptables_hybrid or openvswitch firewall, the DHCP and L3 agents): the
instance and its Neutron port (with its network's DHCP agents and routers), the compute node's interfaces, switch
(``ovs_info`` with the flows of br-int and br-tun) and firewall (``iptables_info`` with the counters that moved
during the probes), the network node's interfaces (its own and those of ``qdhcp-``/``qrouter-``), switch, the
router's NAT and the DHCP agent's dnsmasq, and the hop list of the path: tap -> qbr -> qvb/qvo -> br-int (local
VLAN) -> br-tun (tunnel) -> network node -> qrouter (qr-, qg-) -> br-ex -> uplink. ``Ml2OvsModel`` is the view the
rules read. Every name comes from the facts and the Neutron DB, none from the lab.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.module_utils._ovs import find_iface_id, interfaces as ovs_interfaces, physical_ports
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _addresses, interfaces_by_name
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model_neutron import NeutronModel, instance_port, with_port_addresses

# what vxlan adds to an instance frame on an IPv4 underlay, as Neutron counts it (outer IPv4 20 + UDP 8 + vxlan 8
# + the inner Ethernet header 14): a vxlan network's MTU is the underlay's minus this
VXLAN_OVERHEAD = 50
GRE_OVERHEAD = 42
DEAD_VLAN = 4095
OVERHEAD = {'vxlan': VXLAN_OVERHEAD, 'gre': GRE_OVERHEAD, 'geneve': 58}


def dev(prefix, port_id):
    """The name of a Neutron device of port ``port_id``: ``prefix`` + the first 11 characters of its id."""
    return '%s%s' % (prefix, str(port_id)[:11])


def find_port(ovs, port_id, name):
    """(bridge, port, interface) on the switch of Neutron port ``port_id``: by iface-id, else by device name."""
    if not ovs or not port_id:
        return None
    hit = find_iface_id(ovs, port_id)
    if hit:
        return hit
    for b, p, i in ovs_interfaces(ovs):
        if i.get('name') == name:
            return b, p, i
    return None


def bridge(ovs, name):
    return next((b for b in (ovs or {}).get('bridges') or [] if b.get('name') == name), None)


def tunnel_ports(ovs):
    """The tunnel interfaces of the switch (vxlan, gre, geneve) with their options."""
    return [(b, p, i) for b, p, i in ovs_interfaces(ovs or {}) if i.get('type') in ('vxlan', 'gre', 'geneve', 'stt')]


def holder(interfaces, address):
    """(name, interface) of the interface holding ``address``, else (None, None)."""
    if not address:
        return None, None
    for name, i in interfaces_by_name(interfaces).items():
        if address in _addresses(i):
            return name, i
    return None, None


def ml2ovs_hops(inst, port, compute, network_node, cifs, covs, novs, router):
    """The hops of an instance's path on ML2/OVS, in the order a packet leaves it; the router's ports carry the
    namespace they are in (``netns``: qrouter-<router id>)."""
    hops = []

    def add(kind, host, interface, label, segment, address=None, mac=None, notes=None, netns=None):
        hops.append({'index': len(hops), 'id': '%02d-%s' % (len(hops), kind), 'kind': kind, 'host': host, 'interface': interface,
                     'netns': netns, 'address': address, 'mac': mac, 'label': label, 'segment': segment, 'notes': notes or [],
                     'on_path': True})
    pid = (port or {}).get('id')
    mac = (port or {}).get('mac_address')
    fixed = [f.get('ip_address') for f in (port or {}).get('fixed_ips') or []]
    add('guest_nic', inst.get('guest_host'), None, 'instance %s NIC' % (inst.get('hostname') or inst.get('uuid') or '?'), 'instance',
        address=fixed[0] if fixed else None, mac=mac)
    if not pid:
        return hops
    hybrid = ((port.get('binding') or {}).get('vif_details') or {}).get('ovs_hybrid_plug')
    tap, qbr, qvo = dev('tap', pid), dev('qbr', pid), dev('qvo', pid)
    hit = find_port(covs, pid, qvo if hybrid else tap)
    tag = hit[1].get('tag') if hit else None
    if hybrid is not False:
        add('tap', compute, tap, 'tap %s in %s' % (tap, qbr), 'instance_to_compute', mac=mac)
        add('qbr', compute, qbr, 'Linux bridge %s (iptables_hybrid firewall)' % qbr, 'compute')
        add('qvo', compute, qvo, '%s/%s into br-int (local VLAN %s)' % (dev('qvb', pid), qvo, tag if tag is not None else '?'), 'compute')
    else:
        add('tap', compute, tap, 'tap %s on br-int (local VLAN %s)' % (tap, tag if tag is not None else '?'), 'instance_to_compute', mac=mac)
    tuns = tunnel_ports(covs)
    local = ((tuns[0][2].get('options') or {}).get('local_ip')) if tuns else None
    tdev = holder(cifs, local)[0]
    add('tunnel', compute, tdev, 'br-tun, tunnel endpoint %s (%s)' % (local or '?', tuns[0][2].get('type') if tuns else 'no tunnel'),
        'compute_to_gateway', address=local)
    if network_node and router:
        itf = router.get('interface') or {}
        qr = 'qrouter-%s' % router.get('id')
        add('router_interface', network_node, dev('qr-', itf.get('port_id')) if itf.get('port_id') else None,
            '%s %s (%s)' % (qr, dev('qr-', itf.get('port_id')), itf.get('ip_address')), 'compute_to_gateway',
            address=itf.get('ip_address'), mac=itf.get('mac_address'), netns=qr)
        add('router_gateway', network_node, dev('qg-', router.get('gw_port_id')) if router.get('gw_port_id') else None,
            '%s %s (%s)' % (qr, dev('qg-', router.get('gw_port_id')), router.get('gateway_ip')),
            'beyond_gateway', address=router.get('gateway_ip'), netns=qr)
        up = [i['name'] for i in physical_ports(novs, 'br-ex')]
        add('uplink', network_node, up[0] if up else None, 'br-ex uplink %s of %s' % (up[0] if up else '?', network_node), 'beyond_gateway')
    return hops


def evidence(instance, compute_host, interfaces=None, ovs=None, iptables=None, iptables_moved=None, network_host=None,
             network_interfaces=None, network_ovs=None, router_iptables=None, dnsmasq=None, neutron_ports=None, neutron_audit=None,
             probes=None, symptom=None, guest_host=None, router_sockets=None):
    """The inputs of ``_engine.evaluate`` for an instance on ML2/OVS (backend ``ml2ovs``)."""
    port = instance_port(neutron_ports)
    inst = with_port_addresses(instance, port)
    routers = ((port or {}).get('network') or {}).get('routers') or []
    hops = ml2ovs_hops(dict(inst, guest_host=guest_host), port, compute_host, network_host, interfaces, ovs, network_ovs,
                       routers[0] if routers else None)
    hosts = {}
    if compute_host:
        hosts[compute_host] = {'interfaces': interfaces, 'ovs': ovs, 'iptables': iptables, 'iptables_moved': iptables_moved}
    if network_host:
        hosts.setdefault(network_host, {}).update({'network_interfaces': network_interfaces, 'network_ovs': network_ovs,
                                                   'router_iptables': router_iptables, 'dnsmasq': dnsmasq,
                                                   'router_sockets': router_sockets})
    return {'backend': 'ml2ovs', 'instance': inst, 'compute_host': compute_host, 'guest_host': guest_host, 'network_host': network_host,
            'hops': hops, 'hosts': hosts, 'neutron': {'ports': neutron_ports, 'audit': neutron_audit},
            'probes': probes or [], 'reported_symptom': symptom}


class Ml2OvsModel(NeutronModel):
    """What the ``ml2ovs`` rules see of one instance's evidence."""

    NETWORK_FACTS = dict(NeutronModel.NETWORK_FACTS, **{
        'network.router_iptables': ('router_iptables', 'the router\'s NAT (iptables_info in qrouter-)'),
        'network.dnsmasq': ('dnsmasq', 'the DHCP agent\'s dnsmasq (dnsmasq_info in qdhcp-)'),
        'network.router_sockets': ('router_sockets', 'the router namespace\'s listening sockets (socket_info in qrouter-)')})
    NO_NODE = ('no network node known (no DHCP or L3 agent of the instance\'s network in the Neutron DB, or its host is not in the '
               'inventory)')

    def __init__(self, inputs):
        super(Ml2OvsModel, self).__init__(inputs)
        self.segment = next(iter(self.network.get('segments') or []), {}) or {}
        self.hybrid = (self.binding.get('vif_details') or {}).get('ovs_hybrid_plug')
        self.iptables = self.cf.get('iptables')
        self.moved = self.cf.get('iptables_moved')
        pid = self.port_id
        self.tap, self.qbr, self.qvb, self.qvo = (dev(p, pid) if pid else None for p in ('tap', 'qbr', 'qvb', 'qvo'))
        self.ovs_dev = self.qvo if self.hybrid is not False else self.tap
        self.ovs_hit = find_port(self.ovs, pid, self.ovs_dev)
        self.tunnels = tunnel_ports(self.ovs)
        self.local_ip = (self.tunnels[0][2].get('options') or {}).get('local_ip') if self.tunnels else None
        self.tun_dev, self.tun_iface = holder(self.cf.get('interfaces'), self.local_ip)
        self.thop = self.hop('tap')
        self.qhop = self.hop('qvo') or self.thop
        self.tunhop = self.hop('tunnel')

    def has(self, need):
        if need == 'compute.iptables_moved':
            return self.moved is not None
        return super(Ml2OvsModel, self).has(need)

    def why_missing(self, need):
        need = need.split('|')[0]
        if need == 'compute.iptables_moved':
            return 'the firewall counters of %s were not compared around a probe (iptables_info compare_to)' % (
                self.chost or 'the compute node')
        return super(Ml2OvsModel, self).why_missing(need)

    def br_tun_flows(self):
        b = bridge(self.ovs, 'br-tun')
        return (b or {}).get('flows')

    def traces(self):
        """The ofproto/trace results of the instance's packets (ovs_info trace), those that could be traced."""
        return [t for t in (self.ovs or {}).get('traces') or [] if isinstance(t, dict) and not t.get('error') and 'drops' in t]

    def trace_drops(self):
        """Evidence lines of where the traced packets were dropped: (bridge, table, priority, match) per drop."""
        out = []
        for t in self.traces():
            for d in t.get('drops') or []:
                out.append('ofproto/trace %s %s: dropped in %s table %s (priority %s%s)' % (
                    t.get('bridge'), t.get('flow'), d.get('bridge'), d.get('table'), d.get('priority'),
                    ', ' + d['match'] if d.get('match') else ''))
            if t.get('dropped') and not t.get('drops'):
                out.append('ofproto/trace %s %s: datapath actions drop' % (t.get('bridge'), t.get('flow')))
        return out
