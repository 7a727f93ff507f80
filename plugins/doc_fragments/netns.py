# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # One namespace: probes, captures and readers that work where one process of that namespace would
    DOCUMENTATION = r'''
options:
  netns:
    description:
      - Named network namespace on the target host (as C(ip netns list) shows it) to work in; the module
        reads, probes or captures there as a process of that namespace would.
      - Omitted means the namespace the module runs in.
      - A namespace that does not exist makes the module fail, naming it.
    type: str
notes:
  - Entering another network namespace needs root (C(CAP_SYS_ADMIN)) on the target.
'''

    # Several namespaces at once, or all of them
    MANY = r'''
options:
  netns:
    description:
      - Network namespace(s) to read, by name (as C(ip netns list) shows them).
      - V(all) reads the namespace the module runs in plus every named namespace of the host; every item
        of the result carries its namespace in its C(netns) key.
      - An empty name (V('')) in the list is the namespace the module runs in (its items have C(netns=null)), to read
        it beside named ones (V(['', qrouter-<id>])) without reading all of them.
      - Omitted means the namespace the module runs in.
      - A namespace that does not exist makes the module fail, naming it. Mutually exclusive with O(src).
    type: list
    elements: str
notes:
  - Reading another network namespace needs root (C(CAP_SYS_ADMIN)) on the target.
'''
