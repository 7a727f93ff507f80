#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ovn_info
short_description: OVN's northbound and southbound databases, joined, read over the OVSDB protocol
version_added: 0.2.0
description:
  - Reads OVN's northbound database (logical switches, their ports and ACLs, logical routers with their ports,
    gateway chassis, NAT entries and static routes, port groups with their ACLs, DHCP options) and its southbound
    database (chassis with their tunnel encapsulations, port bindings with the chassis that claimed them), each in
    one OVSDB transaction (RFC 7047 JSON-RPC, no text scraping, no third-party library), and joins the rows.
  - Neutron's names come with them - a logical switch C(neutron-<network id>), a port named by its Neutron port id
    with C(neutron:device_id) and C(neutron:device_owner) in its C(external_ids).
  - Names what is wrong in RV(problems) - a port claimed by no chassis, bound elsewhere than requested, down,
    disabled, without a port binding; a chassis without an encapsulation.
  - With O(trace), simulates packets through OVN's logical pipelines with C(ovn-trace) against the southbound
    database and says which logical stage (an ACL, port security, a lookup) drops each one.
  - Read-only; only C(select) operations are sent, and C(ovn-trace) only reads. Give O(nb_db), O(sb_db) or both.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  nb_db:
    description:
      - The northbound database, C(unix:PATH) or C(tcp:HOST:PORT) (as in C(ovn-nbctl --db)).
    type: str
  sb_db:
    description:
      - The southbound database, C(unix:PATH) or C(tcp:HOST:PORT) (as in C(ovn-sbctl --db)).
    type: str
  trace:
    description:
      - Packets to simulate with C(ovn-trace --no-friendly-names) (needs O(sb_db) and the C(ovn-trace) binary; bounded
        by O(timeout) with coreutils' C(timeout)). A packet ovn-trace refuses (an unknown datapath, a bad
        expression) has its C(error).
    type: list
    elements: dict
    suboptions:
      datapath:
        description: The logical switch or router the packet enters, by name (V(neutron-<network id>)) or uuid.
        type: str
        required: true
      microflow:
        description:
          - The packet, in ovn-trace's expression syntax
            (V(inport == "<port id>" && eth.src == fa:16:3e:12:74:6a && eth.dst == fa:16:3e:06:10:f7 && ip4.src == 10.1.0.12 &&
            ip4.dst == 10.1.0.11 && ip.ttl == 64 && icmp4.type == 8)).
        type: str
        required: true
      ct:
        description:
          - The connection-tracking state ovn-trace gives the packet at C(ct_next) (C(--ct)). V(new), the first packet
            of a connection (a ping, a new ssh session), meets the ACLs; V(est), ovn-trace's own default, is a packet
            of an established connection, which OVN lets past them.
        type: str
        choices: [new, est]
        default: new
  timeout:
    description:
      - Seconds to wait for each database (and for each trace).
    type: float
    default: 10
seealso:
  - module: cloudops.netdiag.ovs_info
'''

EXAMPLES = r'''
- name: OVN's view of the cloud
  cloudops.netdiag.ovn_info:
    nb_db: tcp:192.0.2.10:6641
    sb_db: tcp:192.0.2.10:6642
  register: ovn

- name: Where the port of an instance is bound
  ansible.builtin.debug:
    msg: "{{ ovn.sb.port_bindings | selectattr('logical_port', 'equalto', port_id) | map(attribute='chassis_hostname') | list }}"

- name: Which logical stage drops a ping to the instance
  cloudops.netdiag.ovn_info:
    sb_db: tcp:192.0.2.10:6642
    trace:
      - datapath: neutron-73da234e-1d87-5fe6-9abf-fa358f314f49
        microflow: >-
          inport == "de89aa7e-eb8c-512a-93aa-2a1d52d620fb" && eth.src == fa:16:3e:12:74:6a && eth.dst == fa:16:3e:06:10:f7
          && ip4.src == 10.1.0.12 && ip4.dst == 10.1.0.11 && ip.ttl == 64 && icmp4.type == 8
  register: trace
'''

RETURN = r'''
nb:
  description:
    - C(logical_switches) (C(name), C(uuid), C(external_ids), C(other_config), C(ports) with C(name), C(type),
      C(addresses), C(port_security), C(up), C(enabled), C(tag), C(options), C(external_ids), C(dhcpv4_options);
      C(acls)), C(logical_routers) (C(ports) with C(mac), C(networks), C(gateway_chassis); C(nat) with C(type),
      C(external_ip), C(logical_ip), C(logical_port); C(static_routes)), C(port_groups) (C(ports), C(acls)), and
      C(dhcp_options) (C(cidr), C(options)). None without O(nb_db).
  returned: success
  type: dict
sb:
  description:
    - C(chassis) (C(name), C(hostname), C(encaps) with C(type) and C(ip)) and C(port_bindings) (C(logical_port),
      C(type), C(mac), C(chassis), C(chassis_hostname), C(requested_chassis), C(up), C(datapath)). None without
      O(sb_db).
  returned: success
  type: dict
problems:
  description:
    - C(port_not_bound), C(bound_elsewhere), C(port_down), C(port_disabled), C(no_port_binding),
      C(chassis_without_encap); each with C(code), C(object), C(message).
  returned: success
  type: list
  elements: dict
traces:
  description:
    - With O(trace), per packet C(datapath), C(microflow) and C(ct) (as given) and C(error), or C(parsed_microflow) (the packet as
      ovn-trace read it), C(pipelines) (each C(pipeline) V(ingress) or V(egress), C(datapath), C(inport), C(outport),
      C(stages) with C(table), C(stage), C(source), C(match), C(priority), C(uuid) of the logical flow and its
      C(actions)), C(outputs) (the ports it was output to), C(dropped) and C(drop) (the stage that dropped it, with its
      C(pipeline) and C(datapath)).
  returned: when O(trace) is set
  type: list
  elements: dict
  sample:
    - datapath: neutron-73da234e-1d87-5fe6-9abf-fa358f314f49
      dropped: true
      drop: {pipeline: egress, table: 4, stage: ls_out_acl, match: 'outport == "ff65dfea-ddfa-5810-865a-7c55f2c253c6" && ip4',
             priority: 2001, actions: ['drop;']}
summary:
  description: Counts of what was read and of the problems.
  returned: success
  type: dict
  sample: {logical_switches: 1, logical_routers: 0, logical_switch_ports: 2, chassis: 3, port_bindings: 2, problems: 0}
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'ovn_info')


if __name__ == '__main__':
    main()
