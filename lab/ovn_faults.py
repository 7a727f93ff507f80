# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults of the OVN lab: real changes made with raw commands (ip, ovs-vsctl, ovn-nbctl, kill, SQL), each recorded
with what undoes it, as lab/faults.py does for nova-network. Nothing leaves a flag a diagnosis could read."""

from __future__ import annotations

import json
import signal
import subprocess

from lab.faults import apply, lookup, undo_all
from lab.sysutil import LabError, kill_pid, run

FAULTS = {}


def fault(fn):
    FAULTS[fn.__name__] = fn
    return fn


def _ovn(lab):
    from lab.ovn import OvnLab
    return OvnLab(lab)


def _inst(lab, target):
    insts = list(lab.model['instances'].values())
    if target is None:
        return insts[0]
    for i in insts:
        if target in (i['hostname'], i['uuid'], i['port_id']):
            return i
    raise LabError('instance %r is not an instance of lab %s' % (target, lab.name))


def _sql(lab, statement, args):
    conn = lab.mariadb().connect('neutron', autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args)
        conn.commit()
    finally:
        conn.close()


# ---------------------------------------------------------------------- what the OVN and ML2/OVS faults share
def kill_recorded(lab, key):
    """SIGKILL the lab's process ``key`` (by its recorded pid); its pid file stays, as after a crash. Returns the undo
    record's ``expect_dead``."""
    p = lab.state['processes'][key]
    kill_pid(p['pid'], p['match'], sig=signal.SIGKILL, wait=3)
    return {'expect_dead': [key]}


def underlay_down(lab, inst):
    """The tunnel endpoint of the instance's node down: br-phy, which holds its tunnel address."""
    run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', 'br-phy', 'down'])


def underlay_up(lab, inst):
    node = lab.model['nodes'][inst['host']]
    run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', 'br-phy', 'up'])
    # an interface set down loses its routes; the address stays
    run(['ip', '-n', lab.ns(inst['host']), 'route', 'replace', lab.model['tunnel'], 'dev', 'br-phy', 'src', node['tunnel_address']],
        check=False)


def underlay_mtu(lab, inst, mtu):
    """The MTU of the instance's node's underlay (eth1 and br-phy on it). The userspace datapath reopens a port whose
    MTU changed and may forget the tunnel neighbours it learnt: one small ping to each other chassis' tunnel address
    from the node (bounded, inside the lab) teaches them again, so the fault breaks only what does not fit."""
    for dev in ('eth1', 'br-phy'):
        run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', dev, 'mtu', str(mtu)])
    peers = [n['tunnel_address'] for name, n in lab.model['nodes'].items() if name != inst['host'] and n.get('tunnel_address')]
    procs = [subprocess.Popen(['ip', 'netns', 'exec', lab.ns(inst['host']), 'ping', '-n', '-c', '2', '-i', '0.2', '-W', '1', peer],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for peer in peers]
    for proc in procs:
        proc.wait(timeout=10)


def set_binding(lab, inst, vif_type, vif_details=''):
    """The ML2 binding of the instance's port in the Neutron DB."""
    _sql(lab, 'UPDATE ml2_port_bindings SET vif_type = %s, vif_details = %s WHERE port_id = %s', (vif_type, vif_details, inst['port_id']))


def provider_uplink(lab, state):
    """The network node's (gateway chassis') provider uplink eth0 set ``state``; returns the node."""
    node = next(n for n, v in lab.model['nodes'].items() if v['role'] == 'controller')
    run(['ip', '-n', lab.ns(node), 'link', 'set', 'eth0', state])
    return node


# ---------------------------------------------------------------------- the faults
@fault
def ovn_port_unbound(lab, target):
    """The instance's tap is on br-int without its external_ids:iface-id (a failed plug): no chassis claims the port."""
    inst = _inst(lab, target)
    _ovn(lab).vsctl(inst['host'], 'remove', 'interface', inst['tap'], 'external_ids', 'iface-id')
    return inst, {}


def _heal_ovn_port_unbound(lab, rec):
    inst = _inst(lab, rec['target'])
    o = _ovn(lab)
    o.vsctl(inst['host'], 'set', 'interface', inst['tap'], 'external_ids:iface-id=%s' % inst['port_id'])
    o.nbctl('--timeout=20', 'wait-until', 'logical_switch_port', inst['port_id'], 'up=true')


@fault
def ovn_controller_dead(lab, target):
    """ovn-controller of the instance's chassis is killed (SIGKILL): its flows stay, nothing new is programmed, the
    chassis stops answering the SB DB."""
    inst = _inst(lab, target)
    return inst, kill_recorded(lab, '%s-ovn-controller' % inst['host'])


def _heal_ovn_controller_dead(lab, rec):
    inst = _inst(lab, rec['target'])
    o = _ovn(lab)
    o.start_ovn_controller(inst['host'])
    o.nbctl('--timeout=20', 'wait-until', 'logical_switch_port', inst['port_id'], 'up=true')


@fault
def ovn_tap_down(lab, target):
    """The instance's tap is down on its compute node."""
    inst = _inst(lab, target)
    run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', inst['tap'], 'down'])
    return inst, {}


def _heal_ovn_tap_down(lab, rec):
    inst = _inst(lab, rec['target'])
    run(['ip', '-n', lab.ns(inst['host']), 'link', 'set', inst['tap'], 'up'])


@fault
def ovn_tunnel_down(lab, target):
    """The tunnel endpoint of the instance's chassis is down (br-phy, which holds its tunnel address, set down)."""
    inst = _inst(lab, target)
    underlay_down(lab, inst)
    return inst, {}


def _heal_ovn_tunnel_down(lab, rec):
    underlay_up(lab, _inst(lab, rec['target']))


@fault
def ovn_mtu_underlay(lab, target):
    """The underlay of the instance's chassis is set to MTU 1400: geneve packets of full-size instance frames (1442 +
    58 bytes) no longer fit."""
    inst = _inst(lab, target)
    underlay_mtu(lab, inst, 1400)
    return inst, {}


def _heal_ovn_mtu_underlay(lab, rec):
    underlay_mtu(lab, _inst(lab, rec['target']), 1500)


@fault
def ovn_acl_drop(lab, target):
    """A drop ACL added by hand on the instance's logical switch for the traffic from its port (a quarantine), above the
    security groups' allow ACLs (priority 2000 against their 1002). OVN lets the packets of established connections
    bypass the ACLs, so what it stops is every new connection the instance opens."""
    inst = _inst(lab, target)
    net = lab.model['networks'][inst['network']]
    _ovn(lab).nbctl('acl-add', net['switch'], 'from-lport', '2000', 'inport == "%s" && ip4' % inst['port_id'], 'drop')
    return inst, {'switch': net['switch'], 'match': 'inport == "%s" && ip4' % inst['port_id']}


def _heal_ovn_acl_drop(lab, rec):
    u = rec['undo']
    _ovn(lab).nbctl('acl-del', u['switch'], 'from-lport', '2000', u['match'])


@fault
def ovn_sg_acls_missing(lab, target):
    """The allow ACLs of the ingress IPv4 rules of the instance's security group are gone from its port group in OVN's NB
    DB while Neutron still has the rules (out of sync, as after a failed update or a restore of one DB): neutron_pg_drop
    drops what they allowed (pings from the other instance and from the outside)."""
    inst = _inst(lab, target)
    o = _ovn(lab)
    sg, pg = o.security_group(lab.model, lab.model['networks'][inst['network']])
    gone = [r['id'] for r in sg['rules'] if r['direction'] == 'ingress' and r['ethertype'] == 'IPv4']
    for rid in gone:
        for uid in o.sg_rule_acls(rid):
            o.nbctl('remove', 'port_group', pg, 'acls', uid)
    return inst, {'rules': gone}


def _heal_ovn_sg_acls_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    o = _ovn(lab)
    sg, pg = o.security_group(lab.model, lab.model['networks'][inst['network']])
    for r in sg['rules']:
        if r['id'] in rec['undo']['rules'] and not o.sg_rule_acls(r['id']):
            o.sg_acl(pg, r)


@fault
def ovn_port_disabled(lab, target):
    """The instance's logical switch port is administratively disabled (enabled=false)."""
    inst = _inst(lab, target)
    _ovn(lab).nbctl('lsp-set-enabled', inst['port_id'], 'disabled')
    return inst, {}


def _heal_ovn_port_disabled(lab, rec):
    inst = _inst(lab, rec['target'])
    _ovn(lab).nbctl('lsp-set-enabled', inst['port_id'], 'enabled')


@fault
def ovn_dhcp_options_missing(lab, target):
    """The instance's port lost its DHCP options in the NB DB; the instance reboots: no lease."""
    inst = _inst(lab, target)
    _ovn(lab).nbctl('lsp-set-dhcpv4-options', inst['port_id'])
    _ovn(lab).dhcp(inst, expect=False, tries=3)
    return inst, {}


def _heal_ovn_dhcp_options_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    # --wait=hv: back when every chassis has the DHCP flows again (under load that takes longer than a DHCP client waits)
    _ovn(lab).nbctl('--wait=hv', '--timeout=20', 'lsp-set-dhcpv4-options', inst['port_id'],
                    lab.state['ovn']['dhcp_options'][inst['network']])
    _ovn(lab).dhcp(inst, tries=8)


@fault
def ovn_binding_failed(lab, target):
    """The instance's port binding failed in the Neutron DB (vif_type binding_failed, as ML2 leaves it)."""
    inst = _inst(lab, target)
    set_binding(lab, inst, 'binding_failed')
    return inst, {}


def _heal_ovn_binding_failed(lab, rec):
    from lab.neutrondb import vif_details
    set_binding(lab, _inst(lab, rec['target']), 'ovs', json.dumps(vif_details(lab.model)))


@fault
def ovn_port_missing(lab, target):
    """The instance's logical switch port is gone from the NB DB while Neutron keeps the port (the DBs drifted)."""
    inst = _inst(lab, target)
    _ovn(lab).nbctl('lsp-del', inst['port_id'])
    return inst, {}


def _heal_ovn_port_missing(lab, rec):
    inst = _inst(lab, rec['target'])
    _ovn(lab).port(lab.model, inst)
    _ovn(lab).nbctl('--timeout=20', 'wait-until', 'logical_switch_port', inst['port_id'], 'up=true')


@fault
def ovn_fip_nat_missing(lab, target):
    """The dnat_and_snat entry of the instance's floating IP is gone from its router in the NB DB (Neutron keeps it)."""
    inst = _inst(lab, target)
    if not inst.get('floating_ip'):
        raise LabError('instance %s has no floating IP' % inst['hostname'])
    _ovn(lab).nbctl('lr-nat-del', lab.model['router']['lr'], 'dnat_and_snat', inst['floating_ip'])
    return inst, {}


def _heal_ovn_fip_nat_missing(lab, rec):
    _ovn(lab).nat(lab.model, _inst(lab, rec['target']))


@fault
def ovn_brex_uplink_down(lab, target):
    """The provider uplink of br-ex on the gateway chassis (its eth0) is down: the router's gateway and the floating
    IPs are cut from the outside."""
    inst = _inst(lab, target)
    provider_uplink(lab, 'down')
    return inst, {}


def _heal_ovn_brex_uplink_down(lab, rec):
    provider_uplink(lab, 'up')


@fault
def ovn_stale_fip(lab, target):
    """The instance's floating IP is associated in the Neutron DB with a port no device uses any more (left by a
    deleted instance), and OVN translates it to that port's address (what the OVN driver writes for it)."""
    from lab.neutrondb import strand_floating_ip
    inst = _inst(lab, target)
    undo = strand_floating_ip(lab, inst)
    o = _ovn(lab)
    o.nbctl('lr-nat-del', lab.model['router']['lr'], 'dnat_and_snat', inst['floating_ip'])
    o.nbctl('lr-nat-add', lab.model['router']['lr'], 'dnat_and_snat', inst['floating_ip'], undo['addr'])
    return inst, undo


def _heal_ovn_stale_fip(lab, rec):
    from lab.neutrondb import restore_floating_ip
    inst = _inst(lab, rec['target'])
    restore_floating_ip(lab, inst, rec['undo'])
    _ovn(lab).nbctl('lr-nat-del', lab.model['router']['lr'], 'dnat_and_snat', inst['floating_ip'])
    _ovn(lab).nat(lab.model, inst)


@fault
def ovn_metadata_proxy_dead(lab, target):
    """The metadata proxy of the instance's network on its chassis (haproxy under neutron-ovn-metadata-agent, in
    ovnmeta-<network id>) is killed (SIGKILL, its pid file left): the instance's requests to 169.254.169.254 reach the
    namespace over the localport and are refused; pings still pass."""
    inst = _inst(lab, target)
    return inst, kill_recorded(lab, 'metadata-proxy:%s:%s' % (inst['host'], inst['network']))


def _heal_ovn_metadata_proxy_dead(lab, rec):
    inst = _inst(lab, rec['target'])
    _ovn(lab).start_metadata_proxy(lab.model, inst['host'], inst['network'])


def inject(lab, name, target=None):
    return apply(lab, lookup(lab, FAULTS, name), _inst(lab, target))


def heal(lab):
    return undo_all(lab, globals())
