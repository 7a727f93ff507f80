#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: ebtables_info
short_description: ebtables (bridge filter) rules with counters; nova-network's DHCP isolation; DHCP drops; counter deltas
version_added: 0.2.0
description:
  - Runs C(ebtables-save -c) (nft or legacy backend), optionally inside a network namespace, and parses it into
    tables, chains (policy) and rules (packet and byte counters, interfaces, MACs, protocol, IPv4 and ARP fields,
    ports, target, raw text).
  - Recognises the rules nova-network installs in multi_host mode (C(isolate_dhcp_address) - ARP of the DHCP address
    and DHCP itself dropped across the bridge's uplink, so that only the local dnsmasq answers its instances) as
    C(nova_isolation), and names every other rule that drops DHCP (RV(summary), key C(dhcp_drops)).
  - With O(src), parses saved C(ebtables-save) text instead (offline analysis); nothing is run.
  - With O(compare_to), also returns the rules whose packet counters increased since that earlier snapshot, so a
    DROP that fired while a DHCP client retried is named.
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
      - Which ebtables to read. V(auto) runs C(ebtables-save) (the system's default), V(nft) runs C(ebtables-nft-save),
        V(legacy) runs C(ebtables-legacy-save).
      - A backend whose binary is missing makes the module fail, naming the binary.
    type: str
    choices: [auto, nft, legacy]
    default: auto
  table:
    description:
      - Only return these tables (V(filter), V(nat), V(broute)).
    type: list
    elements: str
  src:
    description:
      - Saved C(ebtables-save) or C(ebtables-save -c) text to parse instead of running anything.
      - Mutually exclusive with O(netns).
    type: str
  compare_to:
    description:
      - An earlier snapshot to compare counters with, either the registered result of an earlier run of this
        module (or its RV(ebtables) value) or the text of an earlier C(ebtables-save -c).
    type: raw
notes:
  - With the nft backend, C(ebtables-save) prints only the tables that exist; a host without any ebtables rule
    returns no table at all, which is not an error.
seealso:
  - module: cloudops.netdiag.iptables_info
  - module: cloudops.netdiag.dnsmasq_info
'''

EXAMPLES = r'''
- name: Bridge filter rules of the compute node
  cloudops.netdiag.ebtables_info:
  register: ebt

- name: Rules that drop DHCP, other than nova-network's own isolation
  ansible.builtin.debug:
    msg: "{{ ebt.summary.dhcp_drops }}"

- name: Which ebtables rules fired since the first snapshot
  cloudops.netdiag.ebtables_info:
    compare_to: "{{ ebt }}"
  register: ebt_after

- name: Offline, on a saved dump
  cloudops.netdiag.ebtables_info:
    src: "{{ lookup('ansible.builtin.file', 'compute1-ebtables-save.txt') }}"
  delegate_to: localhost
'''

RETURN = r'''
ebtables:
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
      description: ebtables version from the header.
      type: str
      returned: always
      sample: 1.8.9
    rule_count:
      description: Number of rules.
      type: int
      returned: always
      sample: 4
    tables:
      description: >-
        Per table, C(chains): per chain name, C(policy) and C(rules). Each rule has C(index) (1-based), C(packets),
        C(bytes) (V(null) without counters), C(chain), C(rule) (text without counters), C(target), C(dhcp) (matches
        IPv4 UDP port 67 or 68), C(nova_isolation), C(negated), C(matches) (other match options) and, when used,
        C(protocol), C(in_interface), C(out_interface), C(logical_in), C(logical_out), C(source), C(destination)
        (MACs, lower case), C(ip_proto), C(ip_src), C(ip_dst), C(ip_sport), C(ip_dport), C(arp_ip_src), C(arp_ip_dst).
      type: dict
      returned: always
      sample:
        filter:
          chains:
            INPUT:
              policy: ACCEPT
              rules:
                - index: 1
                  packets: 3
                  bytes: 1026
                  chain: INPUT
                  rule: -A INPUT -p IPv4 -i vnet0 --ip-proto udp --ip-dport 67 -j DROP
                  target: DROP
                  protocol: IPv4
                  in_interface: vnet0
                  ip_proto: udp
                  ip_dport: '67'
                  dhcp: true
                  nova_isolation: false
                  negated: []
                  matches: []
summary:
  description: >-
    C(rules) (count), C(nova_dhcp_isolation) (nova-network's rules), C(dhcp_drops) (other DROP rules matching DHCP)
    and C(drops_with_hits) (DROP rules whose counter is not zero), each item with C(table), C(chain), C(index),
    C(rule), C(packets) and C(bytes).
  returned: always
  type: dict
  sample: {rules: 5, nova_dhcp_isolation: [], drops_with_hits: [],
           dhcp_drops: [{table: filter, chain: INPUT, index: 1, packets: 3, bytes: 1026,
                         rule: '-A INPUT -p IPv4 -i vnet0 --ip-proto udp --ip-dport 67 -j DROP'}]}
moved:
  description: >-
    With O(compare_to): rules whose packet counter increased, DROP first, each with C(table), C(chain), C(index),
    C(target), C(rule), C(packets) and C(bytes) (the increase), C(drop) and C(dhcp).
  returned: when O(compare_to) is set
  type: list
  elements: dict
  sample: [{table: filter, chain: INPUT, index: 1, target: DROP, packets: 2, bytes: 684, drop: true, dhcp: true,
            rule: '-A INPUT -p IPv4 -i vnet0 --ip-proto udp --ip-dport 67 -j DROP'}]
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'ebtables_info')


if __name__ == '__main__':
    main()
