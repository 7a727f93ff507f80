#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: dns_probe
short_description: Forward and reverse DNS lookups against one server, with measured latency
version_added: 1.0.0
description:
  - Sends A / AAAA queries for O(names) and PTR queries for O(addresses) to one DNS O(server) (for
    example the dnsmasq that serves an instance's bridge), all at once, from the target host or a
    network namespace on it, and classifies every answer.
  - One datagram per query, no retry, no search list, no TCP fallback, so the latency is the server's.
  - A slow reverse lookup is the usual cause of an ssh login that takes a minute (the ssh server resolves
    the client's address); compare the PTR latency with O(slow_threshold).
  - Uses a small built-in DNS client (Python standard library only), so nothing needs installing on targets.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns
  - cloudops.netdiag.probe_start
options:
  server:
    description:
      - Address of the DNS server to ask.
    type: str
    required: true
  port:
    description:
      - UDP port of the server.
    type: int
    default: 53
  names:
    description:
      - Names to look up, once per type in O(types).
    type: list
    elements: str
    default: []
  types:
    description:
      - Record types asked for each of O(names).
    type: list
    elements: str
    choices: [A, AAAA]
    default: [A]
  addresses:
    description:
      - Addresses to look up in reverse (PTR).
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds to wait for the answers (one window for all queries).
    type: float
    default: 3
  slow_threshold:
    description:
      - Milliseconds above which an answer is reported as V(slow).
    type: float
    default: 500
notes:
  - Read-only.
seealso:
  - module: cloudops.netdiag.packet_capture
'''

EXAMPLES = r'''
- name: Does the instance's dnsmasq answer, and how fast is the reverse lookup ssh will do?
  cloudops.netdiag.dns_probe:
    server: 10.0.2.1
    names: [openstack.org]
    addresses: [10.0.2.24]
    timeout: 2
    slow_threshold: 200
  register: dns
'''

RETURN = r'''
queries:
  description: One result per query (names x types, then addresses).
  returned: always
  type: list
  elements: dict
  sample:
    - query: 10.0.2.24
      qname: 24.2.0.10.in-addr.arpa.
      type: PTR
      server: 10.0.2.1
      port: 53
      status: ok
      rcode: NOERROR
      latency_ms: 0.41
      answers: [{name: 24.2.0.10.in-addr.arpa., type: PTR, ttl: 0, data: inst-24.novalocal.}]
      error: null
  contains:
    query:
      description: The name or address as given.
      returned: always
      type: str
      sample: 10.0.2.24
    qname:
      description: The name asked (reverse name for addresses).
      returned: always
      type: str
      sample: 24.2.0.10.in-addr.arpa.
    type:
      description: Record type asked.
      returned: always
      type: str
      sample: PTR
    status:
      description: V(ok), V(slow) (answered above O(slow_threshold)), V(nodata) (no record of that type),
        V(nxdomain), V(refused), V(servfail), V(timeout) (no answer within O(timeout)), V(unreachable)
        (the datagram could not be sent or came back as ICMP port unreachable), or V(error) (another
        answer code or a malformed answer).
      returned: always
      type: str
      sample: ok
    rcode:
      description: The server's answer code, null without an answer.
      returned: always
      type: str
      sample: NOERROR
    latency_ms:
      description: Milliseconds between sending the query and receiving the answer, null without one.
      returned: always
      type: float
      sample: 0.41
    answers:
      description: Answer records (C(name), C(type), C(ttl), C(data)).
      returned: always
      type: list
      elements: dict
      sample: [{name: openstack.test., type: A, ttl: 0, data: 203.0.113.80}]
    error:
      description: Why there is no usable answer, else null.
      returned: always
      type: str
      sample: no answer from 10.0.2.1 port 53 within 2.0 s
problems:
  description: Queries whose status is not V(ok) (C(code) is V(dns_) + the status, for example V(dns_timeout)).
  returned: always
  type: list
  elements: dict
  sample:
    - code: dns_slow
      message: PTR 10.0.2.24 via 10.0.2.1 answered in 1503.2 ms (threshold 500.0 ms)
      object: 10.0.2.24
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._capture import module_start_instant, sleep_until
from ansible_collections.cloudops.netdiag.plugins.module_utils._dnsprobe import LOOKUP_SPEC, DnsError, lookup_plan, problem, run_queries
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, enter_netns


def main():
    module = NetdiagModule(
        argument_spec=dict(LOOKUP_SPEC, netns=dict(type='str'), start_at=dict(type='str')),
        supports_check_mode=True,
    )
    p = module.params
    start_at = module_start_instant(module, p['start_at'])
    try:
        plan = lookup_plan(p)
    except DnsError as exc:
        module.fail_json(msg=str(exc))
    try:
        with enter_netns(p['netns']):
            sleep_until(start_at)
            results = run_queries(p['server'], p['port'], plan, p['timeout'], p['slow_threshold'])
    except NetnsError as exc:
        module.fail_json(msg='cannot query from namespace: %s' % exc)
    except DnsError as exc:
        module.fail_json(msg='invalid query: %s' % exc)
    problems = [problem(r, p['slow_threshold']) for r in results if r['status'] != 'ok']
    module.exit_json(changed=False, queries=results, problems=problems)


if __name__ == '__main__':
    main()
