# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the evidence models of the Neutron backends share (private): ``_model_ovn.OvnModel`` and
``_model_ml2ovs.Ml2OvsModel`` are ``NeutronModel``s.

The instance's Neutron port (the first ``compute:*`` one) and its binding, network and router; the compute node's
switch; the network node (the gateway chassis on OVN, the DHCP/L3 agents' host on ML2/OVS) and its facts; the facts
a rule can need of them (``has``) and why one is missing (``why_missing``), in the operator's words.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import admin_up, has_carrier, interfaces_by_name
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model import Model


def instance_port(ports):
    """The instance's port among its Neutron ports: the first ``compute:*`` one, else the first."""
    ports = list(ports or [])
    return next((p for p in ports if str(p.get('device_owner') or '').startswith('compute:')), ports[0] if ports else None)


def with_port_addresses(instance, port):
    """The instance with its port's fixed and floating IPs as its addresses (on Neutron nova knows none of them)."""
    inst = dict(instance or {})
    if port and not inst.get('fixed_ips'):
        inst['fixed_ips'] = [{'address': f.get('ip_address'), 'mac': port.get('mac_address')} for f in port.get('fixed_ips') or []]
        inst['floating_ips'] = [f.get('floating_ip_address') for f in port.get('floating_ips') or [] if f.get('floating_ip_address')]
    return inst


def ns_interfaces(interfaces, netns):
    """The interfaces of namespace ``netns`` (None: the host's own) in an ``interface_info`` result of several."""
    return [i for i in interfaces or [] if isinstance(i, dict) and i.get('netns') == netns]


class NeutronModel(Model):
    """The part of a Neutron backend's model its rules share."""

    # the network node's facts a rule can need: evidence key under the node's host, and what reads it
    NETWORK_FACTS = {'network.ovs': ('network_ovs', 'its switch (ovs_info)'),
                     'network.interfaces': ('network_interfaces', 'its interfaces (interface_info)')}
    # what the backend calls its network node, and why none may be known
    NODE = 'network node'
    NO_NODE = 'no network node known'
    AUDIT = 'neutron_db_info audit=true'

    def __init__(self, inputs):
        super(NeutronModel, self).__init__(inputs)
        neu = inputs.get('neutron') or {}
        self.neutron_ports = neu.get('ports')
        self.neutron_audit = neu.get('audit')
        self.port = instance_port(self.neutron_ports)
        self.port_id = (self.port or {}).get('id')
        self.binding = (self.port or {}).get('binding') or {}
        self.network = (self.port or {}).get('network') or {}
        self.net_mtu = self.network.get('mtu')
        routers = self.network.get('routers') or []
        self.router = routers[0] if routers else None
        self.ovs = self.cf.get('ovs')
        self.nhost = inputs.get('network_host')
        self.nf = ((inputs.get('hosts') or {}).get(self.nhost) or {}) if self.nhost else {}
        self.novs = self.nf.get('network_ovs')
        self.nifs_all = self.nf.get('network_interfaces')
        self.nifs = interfaces_by_name(ns_interfaces(self.nifs_all, None))

    def has(self, need):
        if '|' in need:
            return any(self.has(n) for n in need.split('|'))
        if need == 'neutron':
            return self.neutron_ports is not None
        if need == 'neutron.audit':
            return self.neutron_audit is not None
        if need == 'compute.ovs':
            return self.ovs is not None
        if need in self.NETWORK_FACTS:
            return self.nf.get(self.NETWORK_FACTS[need][0]) is not None
        return super(NeutronModel, self).has(need)

    def why_missing(self, need):
        need = need.split('|')[0]
        if need == 'neutron':
            return 'the Neutron DB was not read (neutron_db_info)'
        if need == 'neutron.audit':
            return 'the Neutron DB audit was not run (%s)' % self.AUDIT
        if need == 'compute.ovs':
            return 'the switch of %s was not read (ovs_info)' % (self.chost or 'the compute node')
        if need in self.NETWORK_FACTS:
            if not self.nhost:
                return self.NO_NODE
            return '%s of the %s %s was not read' % (self.NETWORK_FACTS[need][1], self.NODE, self.nhost)
        return super(NeutronModel, self).why_missing(need)

    @staticmethod
    def iface_up(i):
        return admin_up(i) and has_carrier(i)
