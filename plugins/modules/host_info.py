#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: host_info
short_description: Several of the collection's facts of one host in one module run, read at the same time
version_added: 0.2.0
description:
  - Runs the gatherers of the collection's facts modules named by its options in one process, each in its own
    thread, and returns each one's result under RV(facts), keyed by the module's name, exactly as registering
    that module would give it.
  - One module run instead of one per module. On a compute node the interfaces, iptables, ebtables, domain XML,
    nova.conf, dnsmasq and console log facts cost one interpreter start and one controller round trip instead of
    seven (docs/performance.md), and the commands they run (C(iptables-save), C(ebtables-save), C(virsh)) wait at
    the same time.
  - Each option takes the options of its module, validated by that module's own rules; an empty dict reads with
    the module's defaults. A section whose options are wrong or whose facts cannot be read fails alone (its entry
    has C(failed=true) and C(msg), the module's own message); the others are returned. Omitted options are not read.
  - Read-only.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  netns:
    description:
      - Named network namespace to read the namespace-aware sections in (interfaces, iptables, ebtables, dnsmasq,
        sockets, routing), unless a section's own options name one.
      - Omitted means the namespace the module runs in.
    type: str
  interface_info:
    description: Options of M(cloudops.netdiag.interface_info) (O(cloudops.netdiag.interface_info#module:name), ...).
    type: dict
  iptables_info:
    description:
      - Options of M(cloudops.netdiag.iptables_info) (O(cloudops.netdiag.iptables_info#module:table),
        O(cloudops.netdiag.iptables_info#module:compare_to), ...).
    type: dict
  ebtables_info:
    description: Options of M(cloudops.netdiag.ebtables_info).
    type: dict
  libvirt_domain_info:
    description: Options of M(cloudops.netdiag.libvirt_domain_info).
    type: dict
  nova_conf_info:
    description: Options of M(cloudops.netdiag.nova_conf_info).
    type: dict
  dnsmasq_info:
    description: Options of M(cloudops.netdiag.dnsmasq_info).
    type: dict
  console_log_info:
    description: Options of M(cloudops.netdiag.console_log_info).
    type: dict
  ovs_info:
    description: Options of M(cloudops.netdiag.ovs_info) (O(cloudops.netdiag.ovs_info#module:db), ...).
    type: dict
  ovn_info:
    description: Options of M(cloudops.netdiag.ovn_info) (O(cloudops.netdiag.ovn_info#module:nb_db), ...).
    type: dict
  socket_info:
    description: Options of M(cloudops.netdiag.socket_info) (O(cloudops.netdiag.socket_info#module:port), ...).
    type: dict
  routing:
    description:
      - Also read IPv4 forwarding (C(/proc/sys/net/ipv4/ip_forward)) and the kernel's IPv4 routing table
        (C(/proc/net/route)) of the namespace, as C(routing) in RV(facts).
    type: bool
    default: false
notes:
  - Reading another network namespace needs root (C(CAP_SYS_ADMIN)) on the target.
seealso:
  - module: cloudops.netdiag.interface_info
  - module: cloudops.netdiag.iptables_info
  - module: cloudops.netdiag.dnsmasq_info
'''

EXAMPLES = r'''
- name: Every network fact of a nova-network compute node, in one module run
  cloudops.netdiag.host_info:
    interface_info: {}
    iptables_info: {table: [filter, nat]}
    ebtables_info: {}
    libvirt_domain_info: {}
    nova_conf_info: {}
    dnsmasq_info: {mac: ['fa:16:3e:4f:1c:02'], max_bytes: 16777216}
    console_log_info: {instance_uuid: 5d3b2c4e-1f0a-4b7e-9a43-0c6f1f6a9b21}
    routing: true
  register: node

- name: Stop when the firewall could not be read
  ansible.builtin.assert:
    that: not (node.facts.iptables_info.failed | default(false))
    fail_msg: "{{ node.facts.iptables_info.msg | default('') }}"

- name: The counters that moved since then, iptables and ebtables in one run
  cloudops.netdiag.host_info:
    iptables_info: {compare_to: "{{ node.facts.iptables_info }}", table: [filter, nat]}
    ebtables_info: {compare_to: "{{ node.facts.ebtables_info }}"}
  register: later
'''

RETURN = r'''
facts:
  description:
    - One entry per section asked for, keyed by the module's name; each is that module's result (its documented
      return values, without C(changed)), or C(failed=true) with C(msg) when the section failed. C(warnings) lists
      the section's warnings.
    - C(routing) (with O(routing=true)) has C(ip_forward) (V(0) or V(1)) and C(route) (the text of C(/proc/net/route)).
  returned: always
  type: dict
  sample: {iptables_info: {iptables: {tables: {}}, summary: {}},
           nova_conf_info: {failed: true, msg: 'cannot read nova.conf /etc/nova/nova.conf: No such file or directory'}}
seconds:
  description: Seconds each section took (they overlap).
  returned: always
  type: dict
  sample: {interface_info: 0.004, iptables_info: 0.031}
failed_sections:
  description: Names of the sections that failed.
  returned: always
  type: list
  elements: str
  sample: [nova_conf_info]
'''

import gc

# Short-lived process building acyclic results (see interface_info and iptables_info): the cyclic GC stays off.
gc.disable()

from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import SPECS
from ansible_collections.cloudops.netdiag.plugins.module_utils._hostinfo import gather_sections
from ansible_collections.cloudops.netdiag.plugins.module_utils._plainresult import PlainResultModule


def main():
    spec = dict((name, dict(type='dict')) for name in SPECS)
    spec.update(netns=dict(type='str'), routing=dict(type='bool', default=False))
    module = PlainResultModule(argument_spec=spec, supports_check_mode=True)
    p = module.params
    requested = dict((name, p[name]) for name in SPECS if p[name] is not None)
    if p['routing']:
        requested['routing'] = {}
    if p['netns']:
        from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, netns_path
        try:
            netns_path(p['netns'])
        except NetnsError as exc:
            module.fail_json(msg=str(exc))
    facts, seconds = gather_sections(module, requested, netns=p['netns'])
    for name in sorted(facts):
        for warning in facts[name].get('warnings', []):
            module.warn('%s: %s' % (name, warning))
    module.exit_json(changed=False, facts=facts, seconds=seconds, failed_sections=sorted(n for n in facts if facts[n].get('failed')))


if __name__ == '__main__':
    main()
