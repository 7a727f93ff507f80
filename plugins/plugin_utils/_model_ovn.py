# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The evidence model of the ML2/OVN backend (private): what the ``ovn`` rules read.

``evidence(...)`` assembles, from the facts modules' results, the inputs of ``_engine.evaluate`` for an instance
on ML2/OVN: the instance (uuid, name, its Neutron port), the compute node's interfaces and switch (``ovs_info``),
OVN's NB and SB (``ovn_info``), the Neutron DB (``neutron_db_info`` ports and audit), and the hop list of the OVN
path (the guest's NIC, its tap on ``br-int``, the logical switch, the tunnel endpoint). ``OvnModel`` is the view
the rules read. Every name comes from the facts, none from the lab.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.module_utils._ovs import find_iface_id, interfaces as ovs_interfaces, physical_ports
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _addresses, interfaces_by_name
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model_neutron import NeutronModel, instance_port, with_port_addresses

# what geneve adds to an instance frame on an IPv4 underlay, as Neutron counts it (outer IPv4 20 + the largest
# geneve header OVN uses, 38): a tenant network's MTU is the underlay's minus this
GENEVE_OVERHEAD = 58


def tap_name(port_id):
    """The tap nova/os-vif make for a Neutron port: ``tap`` + the first 11 characters of its id."""
    return 'tap' + str(port_id)[:11]


def find_tap(ovs, port_id):
    """(name, interface) of the port's tap on the switch: the interface whose iface-id is the port id, else the one named
    ``tap<port id[:11]>`` (whatever its iface-id); (None, None) when neither is there."""
    if not port_id or not ovs:
        return None, None
    hit = find_iface_id(ovs, port_id)
    if hit:
        return hit[2]['name'], hit[2]
    want = tap_name(port_id)
    for dummy, dummy2, i in ovs_interfaces(ovs):
        if i.get('name') == want:
            return want, i
    return None, None


def ovn_hops(inst, port, compute, ovs, interfaces, ls_name, guest_host=None, network_host=None, network_ovs=None):
    """The hops of an instance's path on ML2/OVN, in the order a packet leaves it."""
    hops = []

    def add(kind, host, interface, label, segment, address=None, mac=None, notes=None):
        hops.append({'index': len(hops), 'id': '%02d-%s' % (len(hops), kind), 'kind': kind, 'host': host, 'interface': interface,
                     'address': address, 'mac': mac, 'label': label, 'segment': segment, 'notes': notes or [], 'on_path': True})
    pid = (port or {}).get('id')
    fixed = [f.get('ip_address') for f in (port or {}).get('fixed_ips') or []]
    add('guest_nic', guest_host, None, 'instance %s NIC' % (inst.get('hostname') or inst.get('uuid') or '?'), 'instance',
        address=fixed[0] if fixed else None, mac=(port or {}).get('mac_address'))
    tap = find_tap(ovs, pid)[0] or (tap_name(pid) if pid else None)
    add('tap', compute, tap, 'tap %s on br-int' % (tap or '(unknown)'), 'instance_to_compute', mac=(port or {}).get('mac_address'))
    # the logical switch lives in br-int's flows: no interface of its own to look at (br-int's port stays down)
    add('logical_switch', compute, None, 'logical switch %s (br-int)' % (ls_name or '?'), 'compute')
    encap = ((ovs or {}).get('open_vswitch') or {}).get('ovn') or {}
    dev = encap_device(interfaces, encap.get('encap_ip'))
    add('tunnel', compute, dev, 'tunnel endpoint %s (%s)' % (encap.get('encap_ip') or '?', encap.get('encap_type') or 'geneve'),
        'compute_to_gateway', address=encap.get('encap_ip'))
    routers = ((port or {}).get('network') or {}).get('routers') or []
    if routers and network_host:
        r = routers[0]
        add('router_gateway', network_host, None, 'router %s gateway %s on the gateway chassis %s' % (
            r.get('name') or r.get('id'), r.get('gateway_ip'), network_host), 'beyond_gateway', address=r.get('gateway_ip'))
        maps = (((network_ovs or {}).get('open_vswitch') or {}).get('ovn') or {}).get('bridge_mappings') or ''
        up = [i['name'] for m in maps.split(',') if ':' in m for i in physical_ports(network_ovs, m.split(':', 1)[1])]
        add('uplink', network_host, up[0] if up else None, 'provider uplink %s of %s' % (up[0] if up else '?', network_host),
            'beyond_gateway')
    return hops


def encap_device(interfaces, address):
    """The interface of the node that holds the tunnel address."""
    if not address:
        return None
    for name, i in interfaces_by_name(interfaces).items():
        if address in _addresses(i):
            return name
    return None


def evidence(instance, compute_host, interfaces=None, ovs=None, nb=None, sb=None, neutron_ports=None, neutron_audit=None,
             probes=None, symptom=None, guest_host=None, traces=None, network_host=None, network_interfaces=None, network_ovs=None,
             metadata=None):
    """The inputs of ``_engine.evaluate`` for an instance on ML2/OVN (backend ``ovn``). ``metadata``: the compute node's
    metadata namespace of the instance's network (``netns``) with what socket_info read there (``sockets``, or ``failed``
    and ``msg``)."""
    port = instance_port(neutron_ports)
    ls_name = 'neutron-%s' % port['network']['id'] if port and port.get('network') else None
    inst = with_port_addresses(instance, port)
    hosts = {compute_host: {'interfaces': interfaces, 'ovs': ovs, 'metadata': metadata}} if compute_host else {}
    if network_host:
        hosts.setdefault(network_host, {}).update({'network_interfaces': network_interfaces, 'network_ovs': network_ovs})
    return {'backend': 'ovn', 'instance': inst, 'compute_host': compute_host, 'guest_host': guest_host,
            'hops': ovn_hops(inst, port, compute_host, ovs, interfaces, ls_name, guest_host, network_host, network_ovs),
            'hosts': hosts, 'network_host': network_host,
            'ovn': {'nb': nb, 'sb': sb, 'traces': traces}, 'neutron': {'ports': neutron_ports, 'audit': neutron_audit},
            'probes': probes or [], 'reported_symptom': symptom}


class OvnModel(NeutronModel):
    """What the ``ovn`` rules see of one instance's evidence."""

    NODE = 'gateway chassis'
    NO_NODE = 'no gateway chassis known (the router\'s gateway port is bound to no host in the inventory)'
    AUDIT = 'neutron_db_info audit=true with ovn_nb_db'

    def __init__(self, inputs):
        super(OvnModel, self).__init__(inputs)
        ovn = inputs.get('ovn') or {}
        self.nb = ovn.get('nb')
        self.sb = ovn.get('sb')
        # ovn-trace of the instance's packets (ovn_info trace), those ovn-trace could run
        self.traces = [t for t in ovn.get('traces') or [] if isinstance(t, dict) and 'pipelines' in t]
        self.ls, self.lsp = None, None
        for ls in (self.nb or {}).get('logical_switches') or []:
            for p in ls.get('ports') or []:
                if self.port_id and p.get('name') == self.port_id:
                    self.ls, self.lsp = ls, p
        self.pb = next((b for b in (self.sb or {}).get('port_bindings') or [] if b.get('logical_port') == self.port_id), None)
        self.tap, self.tap_iface = find_tap(self.ovs, self.port_id)
        self.encap = ((self.ovs or {}).get('open_vswitch') or {}).get('ovn') or {}
        self.encap_dev = encap_device(self.cf.get('interfaces'), self.encap.get('encap_ip'))
        self.thop = self.hop('tap')
        self.tunhop = self.hop('tunnel')
        # the compute node's metadata namespace of the network, and the network's metadata ports (Neutron DB)
        self.metadata = self.cf.get('metadata')
        self.metadata_ports = self.network.get('metadata_ports') or []

    def has(self, need):
        if need in ('ovn.nb', 'ovn.sb'):
            return (self.nb if need == 'ovn.nb' else self.sb) is not None
        if need == 'compute.metadata':
            return self.metadata is not None
        return super(OvnModel, self).has(need)

    def why_missing(self, need):
        need = need.split('|')[0]
        if need in ('ovn.nb', 'ovn.sb'):
            return 'OVN\'s %s DB was not read (ovn_info)' % ('northbound' if need == 'ovn.nb' else 'southbound')
        if need == 'compute.metadata':
            return 'the metadata namespace of %s was not read (socket_info in ovnmeta-<network id>)' % (self.chost or 'the compute node')
        return super(OvnModel, self).why_missing(need)

    def encap_iface(self):
        ifs = interfaces_by_name(self.cf.get('interfaces'))
        return ifs.get(self.encap_dev) if self.encap_dev else None
