#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ovs_info
short_description: Open vSwitch bridges, ports, interfaces and flows, read over the OVSDB protocol
version_added: 0.2.0
description:
  - Reads the C(Open_vSwitch), C(Bridge), C(Port) and C(Interface) tables of the switch's database in one OVSDB
    transaction (RFC 7047 JSON-RPC on its unix socket, no text scraping, no third-party library) and joins them -
    each bridge with its datapath type and its ports, each port with its VLAN tag and its interfaces (type,
    OpenFlow port, MAC, MTU, admin and link state, C(error), C(options) such as a tunnel's C(remote_ip),
    C(external_ids) such as Neutron's C(iface-id), C(attached-mac), C(vm-uuid) and ovn-controller's C(ovn-installed)).
  - Returns the switch's own C(external_ids) too, with the OVN chassis settings (C(system-id), C(ovn-remote),
    C(ovn-encap-type), C(ovn-encap-ip), C(ovn-bridge-mappings)) under C(ovs.open_vswitch.ovn).
  - With O(flows=true), the OpenFlow flows of each bridge with their packet and byte counters, from
    C(ovs-ofctl dump-flows) on the bridge's management socket.
  - Read-only; only C(select) operations are sent.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  db:
    description:
      - The switch's database, C(unix:PATH) or C(tcp:HOST:PORT).
    type: str
    default: unix:/var/run/openvswitch/db.sock
  rundir:
    description:
      - Directory of the bridges' management sockets (C(<bridge>.mgmt)), for O(flows). Default - the directory of the
        O(db) socket.
    type: path
  bridges:
    description:
      - Only these bridges (an unknown name fails, naming it). Default - every bridge.
    type: list
    elements: str
  flows:
    description:
      - Also dump each bridge's OpenFlow flows with their counters (needs C(ovs-ofctl)).
    type: bool
    default: false
  statistics:
    description:
      - Also return each interface's C(statistics) (packet, byte, error and drop counters).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the database (and for each flow dump).
    type: float
    default: 10
seealso:
  - module: cloudops.netdiag.interface_info
'''

EXAMPLES = r'''
- name: Bridges, ports and interfaces of the compute node's switch
  cloudops.netdiag.ovs_info:
  register: ovs

- name: The tap of a Neutron port
  ansible.builtin.debug:
    msg: >-
      {{ ovs.ovs.bridges | map(attribute='ports') | flatten | map(attribute='interfaces') | flatten
         | selectattr('external_ids.iface-id', 'defined')
         | selectattr('external_ids.iface-id', 'equalto', port_id) | list }}

- name: The flows of br-int with their counters
  cloudops.netdiag.ovs_info:
    bridges: [br-int]
    flows: true
'''

RETURN = r'''
ovs:
  description:
    - C(open_vswitch) (C(system_id), C(hostname), C(ovs_version), C(datapath_types), C(external_ids), C(other_config),
      C(ovn) with the chassis settings) and C(bridges), each with C(name), C(uuid), C(datapath_type), C(fail_mode),
      C(protocols), C(external_ids), C(other_config), C(ports) (C(name), C(tag), C(trunks), C(vlan_mode), C(interfaces)
      with C(name), C(type), C(ofport), C(ifindex), C(mac_in_use), C(mtu), C(admin_state), C(link_state), C(error),
      C(options), C(external_ids), C(other_config), C(status)) and, with O(flows), C(flows) (C(table), C(priority),
      C(cookie), C(n_packets), C(n_bytes), C(duration), C(match), C(actions)); C(daemons), the pids of
      C(ovs-vswitchd), C(ovsdb-server) and C(ovn-controller) running in the module's network namespace.
  returned: success
  type: dict
  sample:
    open_vswitch: {system_id: 053d9163-6dc8-5842-9413-d737b121e179, ovn: {encap_type: geneve, encap_ip: 192.168.50.11}}
    bridges:
      - name: br-int
        datapath_type: netdev
        ports:
          - name: tapff65dfea-dd
            tag: null
            interfaces:
              - {name: tapff65dfea-dd, type: system, ofport: 3, link_state: up, error: null,
                 external_ids: {iface-id: ff65dfea-ddfa-5810-865a-7c55f2c253c6, ovn-installed: "true"}}
problems:
  description:
    - What is wrong - C(interface_error) (the interface's C(error) column), C(no_ofport) (no OpenFlow port),
      C(vm_port_down) (an interface with an C(iface-id) whose link is down), C(ovn_controller_down) (the switch is
      an OVN chassis but no ovn-controller runs); each with C(code), C(object), C(message).
  returned: success
  type: list
  elements: dict
summary:
  description: Counts of bridges, ports, interfaces, problems (and flows).
  returned: success
  type: dict
  sample: {bridges: 2, ports: 6, interfaces: 6, problems: 0}
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'ovs_info')


if __name__ == '__main__':
    main()
