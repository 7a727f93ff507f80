# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults of the ML2/OVS lab: real changes made with raw commands (ip, ovs-vsctl, ovs-ofctl, iptables, kill, SQL),
each recorded with what undoes it, as lab/faults.py does for nova-network."""

from __future__ import annotations

import json

from lab.faults import apply, lookup, undo_all
from lab.ovn_faults import _inst, kill_recorded, provider_uplink, set_binding, underlay_down, underlay_mtu, underlay_up
from lab.sysutil import LabError, run

FAULTS = {}


def fault(fn):
    FAULTS[fn.__name__] = fn
    return fn


def _lab(lab):
    from lab.ml2ovs import Ml2OvsLab
    return Ml2OvsLab(lab)


def _ipt(lab, ns, *args):
    run(['ip', 'netns', 'exec', ns, 'iptables'] + list(args))


def _tag(lab, inst):
    return lab.model['nodes'][inst['host']]['lvids'][inst['network']]


# ---------------------------------------------------------------------- the faults
@fault
def ovs_binding_failed(lab, target):
    """The instance's port binding failed in the Neutron DB (vif_type binding_failed, as ML2 leaves it)."""
    inst = _inst(lab, target)
    set_binding(lab, inst, 'binding_failed')
    return inst, {}


def _heal_ovs_binding_failed(lab, rec):
    from lab.neutrondb import vif_details
    set_binding(lab, _inst(lab, rec['target']), 'ovs', json.dumps(vif_details(lab.model)))


@fault
def ovs_qvo_missing(lab, target):
    """The instance's qvo port is gone from br-int (the hybrid plug lost its OVS half): its qbr leads nowhere."""
    inst = _inst(lab, target)
    _lab(lab).vsctl(inst['host'], 'del-port', 'br-int', inst['qvo'])
    return inst, {}


def _heal_ovs_qvo_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    _lab(lab).vsctl(inst['host'], '--may-exist', 'add-port', 'br-int', inst['qvo'], 'tag=%d' % _tag(lab, inst), '--', 'set', 'interface',
                    inst['qvo'], 'external_ids:iface-id=%s' % inst['port_id'], 'external_ids:attached-mac=%s' % inst['mac'],
                    'external_ids:iface-status=active', 'external_ids:vm-uuid=%s' % inst['uuid'])


@fault
def ovs_vlan_tag_missing(lab, target):
    """The instance's qvo port on br-int lost its local VLAN tag: its frames enter br-int untagged, br-tun floods
    only tagged ones."""
    inst = _inst(lab, target)
    _lab(lab).vsctl(inst['host'], 'remove', 'port', inst['qvo'], 'tag', str(_tag(lab, inst)))
    return inst, {}


def _heal_ovs_vlan_tag_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    _lab(lab).vsctl(inst['host'], 'set', 'port', inst['qvo'], 'tag=%d' % _tag(lab, inst))


@fault
def ovs_dead_vlan(lab, target):
    """The instance's qvo port is marked dead, as the openvswitch agent does to a port it cannot wire: tag 4095 and a
    drop flow for its OpenFlow port in br-int's table 0."""
    inst = _inst(lab, target)
    o = _lab(lab)
    o.vsctl(inst['host'], 'set', 'port', inst['qvo'], 'tag=4095')
    o.load_flows(inst['host'], 'br-int', ['table=0,priority=2,in_port=%s,actions=drop' % inst['qvo']])
    return inst, {}


def _heal_ovs_dead_vlan(lab, rec):
    inst = _inst(lab, rec['target'])
    _lab(lab).ofctl(inst['host'], 'del-flows', 'br-int', 'table=0,priority=2,in_port=%s' % inst['qvo'], options=('--strict',))
    _heal_ovs_vlan_tag_missing(lab, rec)


@fault
def ovs_qbr_detached(lab, target):
    """The instance's tap is no longer a port of its qbr bridge."""
    inst = _inst(lab, target)
    run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', inst['tap'], 'nomaster'])
    return inst, {}


def _heal_ovs_qbr_detached(lab, rec):
    inst = _inst(lab, rec['target'])
    run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', inst['tap'], 'master', inst['qbr']])


def _icmp_rule(inst):
    return ['neutron-openvswi-i%s' % inst['port_id'][:10], '-p', 'icmp', '-j', 'RETURN']


@fault
def ovs_sg_drop(lab, target):
    """The instance's security group lost its ICMP ingress rule: the agent's chain for the port sends ping to the
    fallback DROP."""
    inst = _inst(lab, target)
    _ipt(lab, lab.ns(inst['host']), '-D', *_icmp_rule(inst))
    return inst, {}


def _heal_ovs_sg_drop(lab, rec):
    inst = _inst(lab, rec['target'])
    _ipt(lab, lab.ns(inst['host']), '-I', _icmp_rule(inst)[0], '3', *_icmp_rule(inst)[1:])


@fault
def ovs_tunnel_down(lab, target):
    """The tunnel endpoint of the instance's compute node is down (br-phy, which holds its tunnel address, set down)."""
    inst = _inst(lab, target)
    underlay_down(lab, inst)
    return inst, {}


def _heal_ovs_tunnel_down(lab, rec):
    underlay_up(lab, _inst(lab, rec['target']))


@fault
def ovs_mtu_underlay(lab, target):
    """The underlay of the instance's compute node is set to MTU 1400: vxlan packets of full-size instance frames
    (1450 + 50 bytes) no longer fit."""
    inst = _inst(lab, target)
    underlay_mtu(lab, inst, 1400)
    return inst, {}


def _heal_ovs_mtu_underlay(lab, rec):
    underlay_mtu(lab, _inst(lab, rec['target']), 1500)


def _tun_flow(lab, inst):
    net = lab.model['networks'][inst['network']]
    return 'table=4,priority=1,tun_id=0x%x' % net['segmentation_id'], 'mod_vlan_vid:%d,resubmit(,10)' % _tag(lab, inst)


@fault
def ovs_tunnel_flow_missing(lab, target):
    """br-tun of the instance's compute node lost the agent's flow that maps the network's vxlan id to its local VLAN
    (table 4): traffic from the tunnels to the instance is dropped."""
    inst = _inst(lab, target)
    match, dummy = _tun_flow(lab, inst)
    _lab(lab).ofctl(inst['host'], 'del-flows', 'br-tun', match, options=('--strict',))
    return inst, {}


def _heal_ovs_tunnel_flow_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    match, actions = _tun_flow(lab, inst)
    _lab(lab).load_flows(inst['host'], 'br-tun', ['%s,actions=%s' % (match, actions)])


def _dnat(inst):
    return [['neutron-l3-agent-PREROUTING', '-d', '%s/32' % inst['floating_ip'], '-j', 'DNAT', '--to-destination', inst['fixed_ip']],
            ['neutron-l3-agent-OUTPUT', '-d', '%s/32' % inst['floating_ip'], '-j', 'DNAT', '--to-destination', inst['fixed_ip']]]


@fault
def ovs_fip_nat_missing(lab, target):
    """The DNAT rules of the instance's floating IP are gone from its router's namespace (Neutron keeps the floating IP)."""
    inst = _inst(lab, target)
    if not inst.get('floating_ip'):
        raise LabError('instance %s has no floating IP' % inst['hostname'])
    for rule in _dnat(inst):
        _ipt(lab, lab.model['router']['qrouter'], '-t', 'nat', '-D', *rule)
    return inst, {}


def _heal_ovs_fip_nat_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    for rule in _dnat(inst):
        _ipt(lab, lab.model['router']['qrouter'], '-t', 'nat', '-I', rule[0], '1', *rule[1:])


@fault
def ovs_dhcp_dead(lab, target):
    """The DHCP agent's dnsmasq of the instance's network is killed (SIGKILL, its pid file left); the instance
    reboots: no lease."""
    inst = _inst(lab, target)
    undo = kill_recorded(lab, 'dnsmasq:%s' % lab.model['networks'][inst['network']]['qdhcp'])
    _lab(lab).dhcp(inst, expect=False, tries=2)
    return inst, undo


def _heal_ovs_dhcp_dead(lab, rec):
    inst = _inst(lab, rec['target'])
    o = _lab(lab)
    o.start_dnsmasq(lab.model['networks'][inst['network']])
    o.dhcp(inst)


@fault
def ovs_brex_uplink_down(lab, target):
    """The provider uplink of br-ex on the network node (its eth0) is down: the router's gateway and the floating
    IPs are cut from the outside."""
    inst = _inst(lab, target)
    provider_uplink(lab, 'down')
    return inst, {}


def _heal_ovs_brex_uplink_down(lab, rec):
    provider_uplink(lab, 'up')


@fault
def ovs_stale_fip(lab, target):
    """The instance's floating IP is associated in the Neutron DB with a port no device uses any more (left by a
    deleted instance), and the router translates it to that port's address: the instance lost its floating IP."""
    from lab.neutrondb import strand_floating_ip
    inst = _inst(lab, target)
    undo = strand_floating_ip(lab, inst)
    qr = lab.model['router']['qrouter']
    for rule in _dnat(inst):
        _ipt(lab, qr, '-t', 'nat', '-R', rule[0], '1', *rule[1:-1] + [undo['addr']])
    return inst, undo


def _heal_ovs_stale_fip(lab, rec):
    from lab.neutrondb import restore_floating_ip
    inst = _inst(lab, rec['target'])
    restore_floating_ip(lab, inst, rec['undo'])
    qr = lab.model['router']['qrouter']
    for rule in _dnat(inst):
        _ipt(lab, qr, '-t', 'nat', '-R', rule[0], '1', *rule[1:])


@fault
def ovs_metadata_proxy_dead(lab, target):
    """The L3 agent's metadata proxy of the instance's router is killed (SIGKILL, its pid file left): the instances'
    requests to 169.254.169.254 are redirected to a port nothing listens on."""
    inst = _inst(lab, target)
    return inst, kill_recorded(lab, 'metadata-proxy:%s' % lab.model['router']['qrouter'])


def _heal_ovs_metadata_proxy_dead(lab, rec):
    _lab(lab).start_router_metadata_proxy(lab.model)


def inject(lab, name, target=None):
    return apply(lab, lookup(lab, FAULTS, name), _inst(lab, target))


def heal(lab):
    return undo_all(lab, globals())
