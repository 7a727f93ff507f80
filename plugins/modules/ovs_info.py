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
  trace:
    description:
      - Packets to trace through the switch's OpenFlow tables (C(ovs-appctl ofproto/trace), read-only, nothing is
        sent). Each names where the packet enters and what it is; the result says every table and rule it went
        through, bridge after bridge (patch ports lead on), what the datapath would do with it and where it was
        dropped.
      - Needs C(ovs-appctl) and ovs-vswitchd's control socket in O(rundir) (C(ovs-vswitchd.<pid>.ctl) or
        C(ovs-vswitchd.ctl)). A packet the switch refuses to trace (an unknown port, bad syntax) has its C(error).
    type: list
    elements: dict
    suboptions:
      bridge:
        description: The bridge the packet enters.
        type: str
        required: true
      flow:
        description:
          - The packet in C(ofproto/trace)'s syntax, port names allowed
            (V(in_port=qvo1ed653fc-0f,icmp,dl_src=fa:16:3e:eb:7e:52,dl_dst=fa:16:3e:6b:b0:ae,nw_src=10.2.0.11,nw_dst=10.2.0.1)).
        type: str
        required: true
  timeout:
    description:
      - Seconds to wait for the database (and for each flow dump or trace).
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

- name: Where does the instance's ping to its gateway go (every table, every bridge, and where it is dropped)
  cloudops.netdiag.ovs_info:
    trace:
      - bridge: br-int
        flow: in_port=qvo1ed653fc-0f,icmp,dl_src=fa:16:3e:eb:7e:52,dl_dst=fa:16:3e:6b:b0:ae,nw_src=10.2.0.11,nw_dst=10.2.0.1
  register: trace
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
    - With O(trace), C(traces) - per packet C(bridge), C(flow) (as given) and C(error), or C(input_flow) (the packet as
      the switch read it, ports by number), C(bridges) (each C(bridge)
      with its C(steps) - C(table), C(match), C(priority), C(actions), C(notes), what the switch did), C(final_flow),
      C(megaflow), C(datapath_actions), C(dropped) (the datapath does nothing with it) and C(drops) (the steps whose
      only action is drop, with their C(bridge)).
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
