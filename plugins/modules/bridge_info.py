#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: bridge_info
short_description: Linux (and Open vSwitch) bridges, their ports, port states and STP, per network namespace
version_added: 0.1.0
description:
  - The C(brctl show) view without C(brctl), from one rtnetlink dump per namespace; bridges, their ports,
    each port's STP state (V(forwarding), V(disabled), V(blocking), ...) and operational state, STP on/off,
    bridge id, and problems (bridge down, no port, no forwarding port, port down).
  - With O(interface), also answers which bridge that interface belongs to (RV(member_of)).
  - Open vSwitch bridges are listed when C(ovs-vsctl) is installed; without it they are silently skipped.
  - With O(src), parses saved C(brctl show) text instead (offline analysis).
  - C(virbr0) (libvirt's default network) is labelled ignorable and never carries problems.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns.many
options:
  interface:
    description:
      - An interface name; RV(member_of) then tells which bridge(s) it is a port of.
    type: str
  src:
    description:
      - Text of C(brctl show) to parse instead of asking the kernel. Mutually exclusive with O(netns).
    type: str
  ovs:
    description:
      - List Open vSwitch bridges with C(ovs-vsctl list-br) and C(list-ports) when C(ovs-vsctl) is installed.
    type: bool
    default: true
notes:
  - Open vSwitch is read in the namespace the module runs in.
seealso:
  - module: cloudops.netdiag.interface_info
'''

EXAMPLES = r'''
- name: Bridges of a compute node
  cloudops.netdiag.bridge_info:
  register: br

- name: Which bridge is vnet0 on?
  cloudops.netdiag.bridge_info:
    interface: vnet0
  register: where

- name: Show it
  ansible.builtin.debug:
    msg: "vnet0 is on {{ where.member_of | map(attribute='bridge') | join(', ') | default('no bridge', true) }}"

- name: Offline, on saved brctl show output
  cloudops.netdiag.bridge_info:
    src: "{{ lookup('ansible.builtin.file', 'compute1-brctl-show.txt') }}"
  delegate_to: localhost
'''

RETURN = r'''
bridges:
  description: Linux bridges with their ports.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Bridge name.
      type: str
      returned: always
      sample: br100
    netns:
      description: Namespace (V(null) for the current one or for O(src)).
      type: str
      returned: always
      sample: compute1
    bridge_id:
      description: Bridge id (priority.MAC) as C(brctl show) prints it.
      type: str
      returned: always
      sample: 8000.0aad24b586b9
    stp_enabled:
      description: Whether STP is on.
      type: bool
      returned: always
      sample: false
    up:
      description: Administratively up (V(null) from O(src)).
      type: bool
      returned: always
      sample: true
    ignorable:
      description: True for libvirt's C(virbr0).
      type: bool
      returned: always
      sample: false
    ports:
      description: >-
        Ports sorted by name, each with C(name), C(state) (STP port state: V(forwarding), V(disabled),
        V(blocking), V(listening), V(learning); V(null) from O(src)), C(up), C(operstate), C(carrier), C(mtu),
        C(mac), C(kind), C(index), C(peer_index), C(link_netns).
      type: list
      elements: dict
      returned: always
      sample: [{name: vnet0, state: forwarding, up: true, operstate: UP, carrier: true, mtu: 1500, kind: veth}]
    problems:
      description: >-
        Problems with stable codes V(bridge_down), V(no_ports), V(no_forwarding_port), V(port_down), each
        with C(code), C(message), C(object).
      type: list
      elements: dict
      returned: always
      sample: [{code: port_down, message: port vnet1 of bridge br100 is down, object: br100/vnet1}]
ovs_bridges:
  description: Open vSwitch bridges (C(type) V(ovs)) with their port names; empty without C(ovs-vsctl).
  returned: always
  type: list
  elements: dict
  sample: [{name: br-int, type: ovs, ports: [{name: tap1234, state: null}]}]
member_of:
  description: With O(interface), the bridges it is a port of (C(interface), C(bridge), C(netns), C(state), C(type)).
  returned: when O(interface) is set
  type: list
  elements: dict
  sample: [{interface: vnet0, bridge: br100, netns: null, state: forwarding, type: linux}]
problems:
  description: All bridge problems in one list.
  returned: always
  type: list
  elements: dict
  sample: []
'''


from ansible_collections.cloudops.netdiag.plugins.module_utils._bridges import (
    BridgeError,
    bridge_of,
    bridges_from_interfaces,
    parse_brctl_show,
    parse_ovs_list,
)
from ansible_collections.cloudops.netdiag.plugins.module_utils._interfaces import InterfaceError, dump_interfaces
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError
from ansible_collections.cloudops.netdiag.plugins.module_utils._plainresult import PlainResultModule


def ovs_bridges(module):
    """OVS bridges and ports via ovs-vsctl; [] when it is not installed, a warning when it fails."""
    vsctl = module.get_bin_path('ovs-vsctl')
    if not vsctl:
        return []
    env = {'LC_ALL': 'C'}
    rc, out, err = module.run_command([vsctl, '--timeout=5', 'list-br'], environ_update=env)
    if rc != 0:
        module.warn('ovs-vsctl list-br failed (rc=%d): %s' % (rc, err.strip()[:300]))
        return []
    result = []
    for name in parse_ovs_list(out):
        rc, out, err = module.run_command([vsctl, '--timeout=5', 'list-ports', name], environ_update=env)
        if rc != 0:
            module.warn('ovs-vsctl list-ports %s failed (rc=%d): %s' % (name, rc, err.strip()[:300]))
            ports = []
        else:
            ports = [{'name': p, 'state': None} for p in parse_ovs_list(out)]
        result.append({'name': name, 'type': 'ovs', 'netns': None, 'ports': ports})
    return result


def main():
    module = PlainResultModule(
        argument_spec=dict(
            netns=dict(type='list', elements='str'),
            interface=dict(type='str'),
            src=dict(type='str'),
            ovs=dict(type='bool', default=True),
        ),
        mutually_exclusive=[('netns', 'src')],
        supports_check_mode=True,
    )
    p = module.params
    ovs = []
    if p['src'] is not None:
        try:
            bridges = parse_brctl_show(p['src'])
        except BridgeError as exc:
            module.fail_json(msg='cannot parse src: %s' % exc)
    else:
        try:
            bridges = bridges_from_interfaces(dump_interfaces(p['netns'], with_addresses=True))
        except (NetnsError, InterfaceError) as exc:
            module.fail_json(msg='cannot read bridges: %s' % exc)
        if p['ovs']:
            ovs = ovs_bridges(module)
    result = dict(changed=False, bridges=bridges, ovs_bridges=ovs,
                  problems=[pr for br in bridges for pr in br['problems']])
    if p['interface']:
        result['member_of'] = bridge_of(bridges + ovs, p['interface'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
