#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: interface_info
short_description: Interfaces, addresses, counters and their problems, per network namespace
version_added: 0.1.0
description:
  - Reads every network interface of the host, or of one, several or all network namespaces, with one
    rtnetlink dump per namespace (links, then addresses) decoded in-process; no command per interface.
  - For each link returns name, index, kind (V(veth), V(bridge), V(tap), V(tun), V(vlan), V(vxlan),
    V(bond), V(loopback), V(device) for a real NIC, ...), flags, operstate, carrier, MTU, MAC, master,
    VLAN id, veth peer, addresses and packet counters, and a list of problems.
  - C(virbr0) (libvirt's default network) and C(virbr0-nic) are labelled RV(interfaces[].ignorable) and never
    carry problems.
  - With O(src), parses saved C(ip a), C(ip -d addr show), C(ip a | grep state) text or C(ip -j addr show) JSON
    instead (offline analysis); counters are then unknown unless the JSON came from C(ip -j -s).
  - Needs no Python library beyond the standard library on the target.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns.many
options:
  name:
    description:
      - Only return interfaces whose name equals one of these or matches it as a shell pattern
        (V(vnet*), V(br[0-9]*)).
      - Problems that involve a master (for example V(master_down)) are still computed against the
        unfiltered list.
    type: list
    elements: str
  src:
    description:
      - Text of C(ip a), C(ip -d addr show) or C(ip a | grep state), or the JSON of C(ip -j [-d] [-s] addr show),
        to parse instead of asking the kernel.
      - Mutually exclusive with O(netns).
    type: str
  fields:
    description:
      - Only these keys of each interface in RV(interfaces) (V(name) and V(netns) always), for example
        V([name, operstate, mtu, addresses]). RV(problems) and RV(summary) are still computed on everything.
      - Ansible's controller walks every value a module returns several times; at thousands of interfaces that costs
        more than reading them (docs/performance.md). Ask for what the task uses.
      - Default is every key.
    type: list
    elements: str
seealso:
  - module: cloudops.netdiag.bridge_info
'''

EXAMPLES = r'''
- name: All interfaces of the host
  cloudops.netdiag.interface_info:
  register: itf

- name: The vnet and bridge interfaces of every namespace
  cloudops.netdiag.interface_info:
    netns: all
    name: ['vnet*', 'br*']
  register: itf

- name: Every interface's state and MTU only, on a host with thousands of them
  cloudops.netdiag.interface_info:
    netns: all
    fields: [operstate, mtu]
  register: states

- name: Interfaces that need attention
  ansible.builtin.debug:
    msg: "{{ itf.problems | map(attribute='message') | list }}"

- name: Analyse saved "ip a" output offline
  cloudops.netdiag.interface_info:
    src: "{{ lookup('ansible.builtin.file', 'compute1-ip-a.txt') }}"
  delegate_to: localhost
'''

RETURN = r'''
interfaces:
  description: One entry per interface, in kernel order, namespace after namespace.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Interface name.
      type: str
      returned: always
      sample: vnet0
    index:
      description: Interface index (unique within its namespace).
      type: int
      returned: always
      sample: 4
    netns:
      description: Namespace name, V(null) for the namespace the module runs in (or for O(src)).
      type: str
      returned: always
      sample: compute1
    kind:
      description: >-
        Link kind: V(veth), V(bridge), V(tap), V(tun), V(vlan), V(vxlan), V(bond), V(loopback), V(device)
        (a device without a software kind: a real NIC), another kernel kind, or V(unknown) (text without C(-d)).
      type: str
      returned: always
      sample: veth
    flags:
      description: Interface flags as C(ip) prints them, including V(NO-CARRIER).
      type: list
      elements: str
      returned: always
      sample: [BROADCAST, MULTICAST, UP, LOWER_UP]
    up:
      description: Administratively up (flag UP).
      type: bool
      returned: always
      sample: true
    operstate:
      description: RFC 2863 operational state (V(UP), V(DOWN), V(LOWERLAYERDOWN), V(UNKNOWN), ...).
      type: str
      returned: always
      sample: UP
    carrier:
      description: Whether the link has carrier.
      type: bool
      returned: always
      sample: true
    mtu:
      description: MTU.
      type: int
      returned: always
      sample: 1500
    mac:
      description: Link-layer address, V(null) for links without one.
      type: str
      returned: always
      sample: fe:16:3e:5a:2b:01
    master:
      description: Name of the bridge or bond this interface is enslaved to.
      type: str
      returned: always
      sample: br100
    vlan_id:
      description: VLAN id of a V(vlan) link.
      type: int
      returned: when RV(interfaces[].kind) is V(vlan)
      sample: 100
    link:
      description: Name of the lower device (vlan) or the veth peer when it is in the same namespace.
      type: str
      returned: always
      sample: eth0
    link_index:
      description: Index of the lower device or veth peer (IFLA_LINK), in the namespace of RV(interfaces[].link_netns).
      type: int
      returned: always
      sample: 3
    peer_index:
      description: For a veth, the ifindex of its peer; V(null) otherwise.
      type: int
      returned: always
      sample: 3
    link_netnsid:
      description: Kernel netns id of the peer's namespace when the peer lives in another namespace.
      type: int
      returned: always
      sample: 0
    link_netns:
      description: Name of the namespace of the peer or lower device, when it could be resolved.
      type: str
      returned: always
      sample: compute1
    bridge_port:
      description: For a bridge port, its STP port state, priority, cost and number.
      type: dict
      returned: when the interface is a bridge port
      sample: {state: forwarding, priority: 32, cost: 2, port_no: 1}
    bridge:
      description: For a bridge, its STP state and bridge id.
      type: dict
      returned: when RV(interfaces[].kind) is V(bridge)
      sample: {stp_state: 0, bridge_id: 8000.0aad24b586b9}
    addresses:
      description: Addresses with family (V(inet), V(inet6)), address, prefixlen, scope, label, broadcast, flags.
      type: list
      elements: dict
      returned: always
      sample: [{family: inet, address: 10.0.2.1, prefixlen: 24, scope: global, label: br100, flags: [permanent]}]
    counters:
      description: rx/tx packets, bytes, errors and dropped; V(null) when parsed from text.
      type: dict
      returned: always
      sample: {rx_packets: 12, tx_packets: 8, rx_bytes: 864, tx_bytes: 764, rx_errors: 0, tx_errors: 0,
               rx_dropped: 0, tx_dropped: 0}
    ignorable:
      description: True for libvirt's C(virbr0), C(virbr0-nic) and ports of C(virbr0); they never carry problems.
      type: bool
      returned: always
      sample: false
    problems:
      description: >-
        Problems of this interface, each with a stable C(code) (V(admin_down),
        V(no_carrier), V(lower_layer_down), V(enslaved_but_down), V(master_down),
        V(mtu_mismatch_with_master), V(bridge_port_blocked)), a message and the object (C(netns/name)).
      type: list
      elements: dict
      returned: always
      sample: [{code: enslaved_but_down, message: vnet1 is a port of br100 but administratively down, object: vnet1}]
problems:
  description: All problems of the returned interfaces in one list.
  returned: always
  type: list
  elements: dict
  sample: [{code: admin_down, message: tap0 is administratively down, object: compute1/tap0}]
summary:
  description: Counts of interfaces, of those up, with problems, ignorable, and per problem code.
  returned: always
  type: dict
  sample: {total: 10, up: 7, with_problems: 3, ignorable: 2, problem_codes: {admin_down: 1}}
'''

import gc

# The module process is short-lived and what it builds (one dict per interface) is acyclic: the
# cyclic GC would only spend time walking the objects of Ansible's module runtime while it is
# imported, then the interface dicts, freeing nothing.  It stays off in this process
# (docs/performance.md: about 5 ms of the module's CPU time at 2000 interfaces).
gc.disable()

from ansible_collections.cloudops.netdiag.plugins.module_utils._plainresult import PlainResultModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(PlainResultModule, 'interface_info')


if __name__ == '__main__':
    main()
