#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: socket_info
short_description: Listening sockets of a network namespace and the processes that hold them
version_added: 0.2.0
description:
  - Reads the kernel's socket tables of the namespace (C(/proc/net/tcp), C(tcp6), C(udp), C(udp6) as seen from
    inside it) and returns the TCP sockets that listen and the UDP sockets that are bound, each with the processes
    of that namespace holding it (their open descriptors C(socket:[inode])).
  - What a diagnosis asks of a service behind a redirect or a DNAT - does anything listen on the port the packets are
    sent to (the metadata proxy on 9697 in a C(qrouter-) namespace, dnsmasq on 67 and 53 in a C(qdhcp-) one) - without
    C(ss) or C(netstat) and without running anything in the namespace.
  - Needs no Python library beyond the standard library. Read-only.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns
options:
  protocol:
    description:
      - The protocols to read.
    type: list
    elements: str
    choices: [tcp, udp]
    default: [tcp, udp]
  port:
    description:
      - Only the sockets bound to these ports.
    type: list
    elements: int
  processes:
    description:
      - Also find the processes holding each socket (a walk of the namespace's processes' descriptors).
    type: bool
    default: true
notes:
  - Finding the processes of another user needs root on the target.
seealso:
  - module: cloudops.netdiag.host_info
  - module: cloudops.netdiag.iptables_info
'''

EXAMPLES = r'''
- name: Does the router's metadata proxy listen where its redirect sends the instances
  cloudops.netdiag.socket_info:
    netns: qrouter-699ffb1f-730e-53f3-832f-6b37a177947c
    protocol: [tcp]
    port: [9697]
  register: proxy

- name: Say so
  ansible.builtin.assert:
    that: proxy.sockets | length > 0
    fail_msg: nothing listens on 9697 in the router's namespace
'''

RETURN = r'''
sockets:
  description:
    - One entry per listening TCP or bound UDP socket, by protocol and port - C(protocol), C(family) (V(4) or V(6)),
      C(address), C(port), C(inode) and, with O(processes), C(processes) (C(pid), C(comm)) of the namespace holding it.
  returned: success
  type: list
  elements: dict
  sample: [{protocol: tcp, family: 4, address: 0.0.0.0, port: 9697, inode: 412345, processes: [{pid: 4242, comm: haproxy}]}]
summary:
  description: How many TCP and UDP sockets were found.
  returned: success
  type: dict
  sample: {tcp: 1, udp: 0}
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'socket_info')


if __name__ == '__main__':
    main()
