#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: iptables_info
short_description: iptables rules with counters, parsed; nova-network chains; counter deltas, flows and NAT
version_added: 0.1.0
description:
  - Runs C(iptables-save -c) (nft or legacy backend), optionally inside a network namespace, and parses it into
    tables, chains (policy, counters, nova-network ownership) and rules (counters, source, destination,
    interfaces, protocol, ports, comment, match modules, target and target arguments, raw text).
  - With O(src), parses saved C(iptables-save) text instead (offline analysis); nothing is run.
  - With O(compare_to), also returns the rules whose packet counters increased since that earlier snapshot,
    so a DROP or REJECT that fired during a probe is named.
  - With O(flow), returns the rules a packet of that flow would traverse; with O(floating_ip), the DNAT and
    SNAT rules for those addresses.
  - Read-only; never changes a rule or a counter.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns
options:
  backend:
    description:
      - Which iptables to read. V(auto) runs C(iptables-save) (the system's default backend), V(nft) runs
        C(iptables-nft-save), V(legacy) runs C(iptables-legacy-save).
      - A backend whose binary is missing makes the module fail, naming the binary.
    type: str
    choices: [auto, nft, legacy]
    default: auto
  table:
    description:
      - Only return these tables (for example V(filter), V(nat)). All tables are still read, so no table is
        created as a side effect.
    type: list
    elements: str
  src:
    description:
      - Saved C(iptables-save) or C(iptables-save -c) text to parse instead of running anything.
      - Mutually exclusive with O(netns).
    type: str
  compare_to:
    description:
      - An earlier snapshot to compare counters with, either the registered result of an earlier run of this
        module (or its RV(iptables) value) or the text of an earlier C(iptables-save -c).
      - Rules are matched by table, chain and rule text, so rules inserted in between do not confuse it.
    type: raw
  flow:
    description:
      - A flow to walk through the chains of O(flow.table); see RV(flow_rules).
    type: dict
    suboptions:
      src:
        description: Source address.
        type: str
        required: true
      dst:
        description: Destination address.
        type: str
        required: true
      proto:
        description: Protocol name (V(icmp), V(tcp), V(udp)) or number.
        type: str
      dport:
        description: Destination port.
        type: int
      sport:
        description: Source port.
        type: int
      in_iface:
        description: Input interface.
        type: str
      out_iface:
        description: Output interface.
        type: str
      table:
        description: Table to walk.
        type: str
        default: filter
  floating_ip:
    description:
      - Floating IP address(es) to look up DNAT and SNAT rules for; see RV(nat).
    type: list
    elements: str
notes:
  - O(flow) follows jumps and evaluates addresses, interfaces, protocol and ports; matches it cannot evaluate
    (state, conntrack, mark, ...) are assumed to match and named in C(assumed). Good for nova-network's rules,
    not a full netfilter emulation.
seealso:
  - module: cloudops.netdiag.interface_info
'''

EXAMPLES = r'''
- name: Rules of the compute node, nova chains recognised
  cloudops.netdiag.iptables_info:
  register: fw

- name: Snapshot before a probe
  cloudops.netdiag.iptables_info:
    table: [filter, nat]
  register: fw_before

- name: Probe
  ansible.builtin.command: ping -c 3 -W 1 10.0.2.24
  changed_when: false
  failed_when: false

- name: Which rules fired during the probe
  cloudops.netdiag.iptables_info:
    table: [filter, nat]
    compare_to: "{{ fw_before }}"
  register: fw_after

- name: Name the DROP/REJECT rules that fired
  ansible.builtin.debug:
    msg: "{{ fw_after.moved | selectattr('drop') | map(attribute='rule') | list }}"

- name: NAT for a floating IP and the path of a ping to the instance
  cloudops.netdiag.iptables_info:
    floating_ip: [203.0.113.30]
    flow: {src: 198.51.100.7, dst: 10.0.2.24, proto: icmp, in_iface: eth0, out_iface: br100}

- name: Offline, on a saved dump
  cloudops.netdiag.iptables_info:
    src: "{{ lookup('ansible.builtin.file', 'compute1-iptables-save.txt') }}"
  delegate_to: localhost
'''

RETURN = r'''
iptables:
  description: The parsed rules.
  returned: always
  type: dict
  contains:
    backend:
      description: V(nft) or V(legacy), from the dump's header; V(null) when the text has no header.
      type: str
      returned: always
      sample: nft
    version:
      description: iptables version from the header.
      type: str
      returned: always
      sample: 1.8.9
    rule_count:
      description: Number of rules returned.
      type: int
      returned: always
      sample: 63
    warnings:
      description: Warning comments of the dump (for example that legacy tables exist beside nft ones).
      type: list
      elements: str
      returned: always
      sample: ['Warning: iptables-legacy tables present, use iptables-legacy-save to see them']
    tables:
      description: >-
        Per table, C(chains): per chain name, C(policy) (V(null) for user chains), C(packets), C(bytes),
        C(builtin), C(managed_by) (V(nova-network) for C(nova-*) chains; for Neutron's, the agent that keeps
        them: V(neutron-openvswitch-agent) for C(neutron-openvswi-*), V(neutron-l3-agent) for C(neutron-l3-agent-*),
        V(neutron-linuxbridge-agent), V(neutron-vpn-agent), else V(neutron)) and C(rules). Each rule has
        C(index) (1-based), C(packets), C(bytes), C(target), C(rule) (text without counters), and when used
        C(source), C(destination), C(in_interface), C(out_interface), C(protocol), C(sport), C(dport),
        C(sports)/C(dports) (multiport lists), C(comment), C(modules), C(matches), C(target_args), C(goto),
        C(negated) (names of negated fields).
      type: dict
      returned: always
      sample:
        nat:
          chains:
            nova-network-PREROUTING:
              policy: null
              packets: 0
              bytes: 0
              builtin: false
              managed_by: nova-network
              rules:
                - index: 2
                  packets: 5
                  bytes: 420
                  target: DNAT
                  rule: -A nova-network-PREROUTING -d 203.0.113.30/32 -j DNAT --to-destination 10.0.2.24
                  destination: 203.0.113.30/32
                  target_args: {to-destination: 10.0.2.24}
summary:
  description: Rules and chains per table, the nova-network chains, and the DROP/REJECT rules with hits.
  returned: always
  type: dict
  sample: {rules: 63, tables: {filter: {chains: 17, rules: 38}}, nova_chains: [filter/nova-filter-top],
           drops_with_hits: [{table: filter, chain: ops-blocklist, index: 1, packets: 2, rule: '-A ops-blocklist -j DROP'}]}
moved:
  description: >-
    With O(compare_to): rules and chain policies whose packet counter increased, DROP/REJECT first, each with
    C(table), C(chain), C(index), C(target), C(rule), C(packets) and C(bytes) (the increase), C(drop), C(policy).
  returned: when O(compare_to) is set
  type: list
  elements: dict
  sample: [{table: filter, chain: ops-blocklist, index: 1, target: DROP, packets: 2, bytes: 168, drop: true, policy: false,
            rule: '-A ops-blocklist -s 10.0.2.66/32 -p icmp -j DROP'}]
counters_reset:
  description: With O(compare_to), rules whose counters went down (zeroed or replaced) between the snapshots.
  returned: when O(compare_to) is set
  type: list
  elements: dict
  sample: []
flow_rules:
  description: >-
    With O(flow): per built-in chain of the table, C(verdict), C(decided_by) (a rule or V(policy)) and
    C(matched) (the rules traversed that match, in order, each with C(assumed) matches).
  returned: when O(flow) is set
  type: dict
  sample: {FORWARD: {verdict: ACCEPT, decided_by: policy, matched: []}}
nat:
  description: With O(floating_ip), per address its C(dnat) and C(snat) rules and the C(fixed_addresses) it maps to.
  returned: when O(floating_ip) is set
  type: list
  elements: dict
  sample: [{address: 203.0.113.30, dnat: [], snat: [], fixed_addresses: [10.0.2.24]}]
'''

import gc

# The module process is short-lived and its result (one dict per rule, 50k rules on a big compute
# node) is acyclic: the cyclic GC would only walk it and Ansible's module runtime, freeing nothing.
# It stays off in this process (parse_save pauses it anyway while parsing).
gc.disable()

from ansible_collections.cloudops.netdiag.plugins.module_utils._plainresult import PlainResultModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(PlainResultModule, 'iptables_info')


if __name__ == '__main__':
    main()
