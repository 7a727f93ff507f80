#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ping_probe
short_description: Send bounded ICMP echo probes to several targets in parallel
version_added: 1.0.0
description:
  - Runs the system C(ping) once per target, all targets at the same time, from the target host or from
    a network namespace on it, and returns per target the packets sent and received, the loss, the
    round-trip times and the error that ping reported (for example C(Network is unreachable) or
    C(Destination Host Prohibited)).
  - Works with the iputils ping and with the busybox ping (hosts and guests that have only busybox);
    both output formats are parsed.
  - Each probe is bounded by O(count) and O(timeout) in ping itself, and the whole run by O(deadline);
    a ping still running then is interrupted (its statistics are kept) and killed one second later.
  - This is the ping ladder of the troubleshooting chapter (instance, compute node, external host) as
    one task; the verdict is left to the caller.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns
  - cloudops.netdiag.probe_start
options:
  targets:
    description:
      - Addresses (or names the host can resolve) to probe, all in parallel.
    type: list
    elements: str
    required: true
  count:
    description:
      - Echo requests sent to each target (C(-c)).
    type: int
    default: 3
  interval:
    description:
      - Seconds between two requests to the same target (C(-i)); fractions allowed, at least 0.01.
    type: float
    default: 0.2
  timeout:
    description:
      - Seconds ping waits for a reply after the last request (C(-W)), rounded up to whole seconds.
    type: float
    default: 1
  deadline:
    description:
      - Upper bound in seconds for the whole task; a ping still running then is interrupted. With O(start_at) it
        counts from that instant.
    type: float
    default: 10
  payload_pattern:
    description:
      - Hex bytes that fill the probe payload (C(-p)) so a capture can recognise the probe.
      - iputils accepts 1 to 16 bytes; busybox exactly one byte (two hex digits).
    type: str
  pattern_targets:
    description:
      - The targets whose echo requests carry O(payload_pattern); the others get ping's default payload. Omitted means
        every target. Each must be one of O(targets).
    type: list
    elements: str
  capture:
    description:
      - Capture around the probes, in the same process, so that one module run both probes and sees where its packets
        (or those of probes fired at the same O(start_at) by other hosts) went.
      - The options of M(cloudops.netdiag.packet_capture) (O(cloudops.netdiag.packet_capture#module:interface),
        O(cloudops.netdiag.packet_capture#module:filter), O(cloudops.netdiag.packet_capture#module:count),
        O(cloudops.netdiag.packet_capture#module:snaplen), O(cloudops.netdiag.packet_capture#module:duration), ...),
        with the same bounds, except C(start_at), C(netns) and C(window_file) (this module's own are used).
      - The captures open as soon as the module runs; the probes fire once every capture listens, at O(start_at)
        when given; the window closes O(cloudops.netdiag.packet_capture#module:duration) seconds after O(start_at)
        (after the module started without it), or as soon as every capture has its
        O(cloudops.netdiag.packet_capture#module:count) packets.
      - The result is RV(capture). A capture that cannot be set up or read is reported there (C(failed), C(msg)); the
        probes run anyway.
    type: dict
  dns:
    description:
      - DNS lookups fired at the same instant as the pings (O(start_at)), in the same namespace, each set as
        M(cloudops.netdiag.dns_probe) asks them (one datagram per query, all at once, bounded by its own C(timeout)).
        The module returns when the pings and every lookup are done.
      - The result is RV(dns).
    type: list
    elements: dict
    suboptions:
      server:
        description: Address of the DNS server to ask.
        type: str
        required: true
      port:
        description: UDP port of the server.
        type: int
        default: 53
      names:
        description: Names to look up, once per type in O(dns[].types).
        type: list
        elements: str
        default: []
      types:
        description: Record types asked for each of O(dns[].names).
        type: list
        elements: str
        choices: [A, AAAA]
        default: [A]
      addresses:
        description: Addresses to look up in reverse (PTR).
        type: list
        elements: str
        default: []
      timeout:
        description: Seconds to wait for the answers of this set (more than 0, at most 60).
        type: float
        default: 3
      slow_threshold:
        description: Milliseconds above which an answer counts as slow.
        type: float
        default: 500
  size:
    description:
      - Payload size in bytes (C(-s)); ping's default (56) when omitted.
    type: int
  source:
    description:
      - Source interface or address (C(-I)).
    type: str
  flavor:
    description:
      - Which ping to use. V(auto) takes C(ping) and asks it C(-V) whether it is iputils; otherwise it is
        treated as busybox. V(busybox) runs C(busybox ping) explicitly.
    type: str
    choices: [auto, iputils, busybox]
    default: auto
notes:
  - Read-only. Requires C(ping) (iputils or busybox) on the target, and C(ip) when O(netns) is given.
seealso:
  - module: cloudops.netdiag.packet_capture
'''

EXAMPLES = r'''
- name: Ping ladder from the compute node
  cloudops.netdiag.ping_probe:
    targets:
      - 10.0.2.24
      - 10.0.0.1
      - 203.0.113.1
    count: 3
    deadline: 5
  register: ladder

- name: Marked probe from inside a namespace, recognisable in captures by its payload byte
  cloudops.netdiag.ping_probe:
    netns: qrouter-1
    targets: [198.51.100.4]
    count: 1
    payload_pattern: 6e
'''

RETURN = r'''
probes:
  description: One result per target, in the order of O(targets).
  returned: always
  type: list
  elements: dict
  sample:
    - target: 198.51.100.4
      resolved: 198.51.100.4
      sent: 3
      received: 3
      duplicates: 0
      icmp_errors: 0
      loss_percent: 0.0
      rtt_min_ms: 0.08
      rtt_avg_ms: 0.092
      rtt_max_ms: 0.107
      reachable: true
      error: null
      flavor: iputils
      rc: 0
      deadline_reached: false
      replies: [{from: 198.51.100.4, seq: 1, ttl: 63, time_ms: 0.107, duplicate: false}]
  contains:
    target:
      description: The target as given.
      returned: always
      type: str
      sample: 198.51.100.4
    resolved:
      description: The address ping resolved the target to (null when it could not start).
      returned: always
      type: str
      sample: 198.51.100.4
    sent:
      description: Echo requests sent.
      returned: always
      type: int
      sample: 3
    received:
      description: Replies received (duplicates not counted).
      returned: always
      type: int
      sample: 3
    duplicates:
      description: Duplicate replies.
      returned: always
      type: int
      sample: 0
    icmp_errors:
      description: ICMP errors (unreachable, prohibited) that came back instead of replies (iputils only).
      returned: always
      type: int
      sample: 0
    loss_percent:
      description: Packet loss in percent.
      returned: always
      type: float
      sample: 0.0
    rtt_min_ms:
      description: Minimum round-trip time in milliseconds, null without replies.
      returned: always
      type: float
      sample: 0.08
    rtt_avg_ms:
      description: Average round-trip time in milliseconds, null without replies.
      returned: always
      type: float
      sample: 0.092
    rtt_max_ms:
      description: Maximum round-trip time in milliseconds, null without replies.
      returned: always
      type: float
      sample: 0.107
    reachable:
      description: At least one reply came back.
      returned: always
      type: bool
      sample: true
    error:
      description: Why the target is not reachable (ping's own message where it gave one), else null.
      returned: always
      type: str
      sample: Network is unreachable
    flavor:
      description: Which output format was seen (V(iputils) or V(busybox)).
      returned: always
      type: str
      sample: iputils
    rc:
      description: Exit code of ping (null if it could not be started).
      returned: always
      type: int
      sample: 0
    deadline_reached:
      description: The probe was still running at O(deadline) and was interrupted.
      returned: always
      type: bool
      sample: false
    replies:
      description: Every reply line (C(from), C(seq), C(ttl), C(time_ms), C(duplicate)).
      returned: always
      type: list
      elements: dict
      sample: [{from: 198.51.100.4, seq: 1, ttl: 63, time_ms: 0.107, duplicate: false}]
flavor:
  description: The ping that ran (V(iputils) or V(busybox)).
  returned: always
  type: str
  sample: iputils
netns:
  description: The namespace probed from (O(netns)), null for the host itself.
  returned: always
  type: str
  sample: qrouter-1
capture:
  description:
    - With O(capture), what M(cloudops.netdiag.packet_capture) returns (RV(cloudops.netdiag.packet_capture#module:packets),
      RV(cloudops.netdiag.packet_capture#module:captures), C(started_at), C(ended_at), C(start_lag) - positive when
      the captures listened only after O(start_at) -, ...), or C(failed=true) with C(msg).
  returned: when O(capture) is given
  type: dict
  sample: {packets: [], captures: [{interface: vnet0, packets: 4, stopped_by: count}], start_lag: -0.61}
dns:
  description:
    - With O(dns), one entry per set, in order - C(server), C(port), C(queries) (what
      M(cloudops.netdiag.dns_probe) returns as RV(cloudops.netdiag.dns_probe#module:queries)) and C(problems); a
      query that did not end C(ok) is also in RV(problems).
  returned: when O(dns) is given
  type: list
  elements: dict
  sample:
    - server: 10.0.0.1
      port: 53
      queries: [{query: www.example.org, type: A, status: ok, latency_ms: 1.2, answers: []}]
      problems: []
elapsed:
  description: Seconds the whole task took.
  returned: always
  type: float
  sample: 0.43
problems:
  description: One entry per unreachable target (C(code) V(target_unreachable)), and one per lookup of O(dns) that did
    not end C(ok) (the codes of M(cloudops.netdiag.dns_probe)).
  returned: always
  type: list
  elements: dict
  sample:
    - code: target_unreachable
      message: "198.51.100.99: Destination Net Unreachable (from 10.0.2.1)"
      object: 198.51.100.99
'''

import re
import threading
import time

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._capture import module_start_instant, sleep_until
from ansible_collections.cloudops.netdiag.plugins.module_utils._dnsprobe import LOOKUP_SPEC, DnsError, lookup_plan, problem, run_queries
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, enter_netns, netns_argv, netns_path
from ansible_collections.cloudops.netdiag.plugins.module_utils._ping import (
    PingError, detect_flavor, ping_argv, run_parallel, summarize, validate_pattern)

_TARGET = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.:%-]{0,252}$')


def _ping_prefix(module, flavor):
    if flavor == 'busybox':
        return [module.get_bin_path('busybox', required=True), 'ping'], 'busybox'
    ping = module.get_bin_path('ping')
    if ping is None:
        if flavor == 'iputils':
            module.fail_json(msg='ping (iputils) was not found on the target host')
        return [module.get_bin_path('busybox', required=True), 'ping'], 'busybox'
    if flavor == 'iputils':
        return [ping], 'iputils'
    dummy, out, err = module.run_command([ping, '-V'], environ_update={'LC_ALL': 'C'})
    return [ping], detect_flavor(out + err)


def _capture_around(module, params, fire):
    """The capture result: the captures of O(capture) open at once, ``fire`` pings once they listen, the
    window ends at O(start_at) + the capture's duration (or when every capture has its count). A capture that cannot
    be set up or read is reported in the capture result (failed, msg); the pings run anyway."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._capturerun import CAPTURE_SPEC, run_capture
    from ansible_collections.cloudops.netdiag.plugins.module_utils._hostinfo import Section, SectionFailed, validate_options
    options = dict(params['capture'])
    for own in ('start_at', 'netns', 'window_file'):
        if options.get(own) is not None:
            return {'failed': True, 'msg': 'capture: %s is not a capture option here (the capture opens at once, in the '
                                           "probe's namespace, and closes by itself)" % own}
    options.update(start_at=params['start_at'], netns=params['netns'])
    cap_params, error = validate_options({'argument_spec': CAPTURE_SPEC}, options, 'capture')
    if error:
        return {'failed': True, 'msg': error}
    try:
        dummy, capture = run_capture(Section(module, 'capture', cap_params), cap_params, during=fire, open_now=True)
    except SectionFailed as exc:
        return {'failed': True, 'msg': exc.msg}
    return capture


def main():
    module = NetdiagModule(
        argument_spec=dict(
            targets=dict(type='list', elements='str', required=True),
            netns=dict(type='str'),
            count=dict(type='int', default=3),
            interval=dict(type='float', default=0.2),
            timeout=dict(type='float', default=1),
            deadline=dict(type='float', default=10),
            payload_pattern=dict(type='str'),
            size=dict(type='int'),
            source=dict(type='str'),
            flavor=dict(type='str', default='auto', choices=['auto', 'iputils', 'busybox']),
            start_at=dict(type='str'),
            pattern_targets=dict(type='list', elements='str'),
            capture=dict(type='dict'),
            dns=dict(type='list', elements='dict', options=LOOKUP_SPEC),
        ),
        supports_check_mode=True,
    )
    params = module.params
    started = time.time()
    start_at = module_start_instant(module, params['start_at'])
    targets = params['targets']
    if not targets:
        module.fail_json(msg='targets is empty: give at least one address to probe')
    for target in targets:
        if not _TARGET.match(target or ''):
            module.fail_json(msg='invalid ping target %r' % (target,))
    if not 1 <= params['count'] <= 1000:
        module.fail_json(msg='count must be between 1 and 1000, got %d' % params['count'])
    if params['interval'] < 0.01:
        module.fail_json(msg='interval must be at least 0.01 seconds, got %s' % params['interval'])
    if not 0 < params['deadline'] <= 600:
        module.fail_json(msg='deadline must be more than 0 and at most 600 seconds, got %s' % params['deadline'])
    if params['timeout'] <= 0:
        module.fail_json(msg='timeout must be positive, got %s' % params['timeout'])
    if params['size'] is not None and not 0 <= params['size'] <= 65507:
        module.fail_json(msg='size must be between 0 and 65507, got %d' % params['size'])
    if params['source'] is not None and not _TARGET.match(params['source']):
        module.fail_json(msg='invalid source %r' % (params['source'],))

    ip_bin = None
    if params['netns']:
        ip_bin = module.get_bin_path('ip', required=True)
        try:
            netns_path(params['netns'])
        except NetnsError as exc:
            module.fail_json(msg='cannot probe from namespace: %s' % exc)
    prefix, flavor = _ping_prefix(module, params['flavor'])
    try:
        pattern = validate_pattern(params['payload_pattern'], flavor)
    except PingError as exc:
        module.fail_json(msg=str(exc))

    marked = set(params['pattern_targets'] if params['pattern_targets'] is not None else targets)
    if marked - set(targets):
        module.fail_json(msg='pattern_targets %s are not in targets' % ', '.join(sorted(marked - set(targets))))
    argvs = []
    for target in targets:
        argv = ping_argv(prefix, flavor, target, params['count'], params['interval'], params['timeout'],
                         pattern=pattern if target in marked else None, size=params['size'], source=params['source'])
        try:
            argvs.append(netns_argv(params['netns'], argv, ip_bin=ip_bin or 'ip'))
        except NetnsError as exc:
            module.fail_json(msg='cannot probe from namespace: %s' % exc)
    lookups = []
    for index, spec in enumerate(params['dns'] or []):
        try:
            lookups.append((spec, lookup_plan(spec)))
        except DnsError as exc:
            module.fail_json(msg='dns[%d]: %s' % (index, exc))
    fired = {}

    def ask(spec, plan, out):
        try:
            with enter_netns(params['netns']):
                out['queries'] = run_queries(spec['server'], spec['port'], plan, spec['timeout'], spec['slow_threshold'])
        except (NetnsError, DnsError, OSError) as exc:
            out['error'] = str(exc)

    def fire():
        sleep_until(start_at)
        fired['at'] = time.time()
        fired['dns'] = [{} for dummy in lookups]
        threads = [threading.Thread(target=ask, args=(spec, plan, out)) for (spec, plan), out in zip(lookups, fired['dns'])]
        for thread in threads:
            thread.start()
        fired['outputs'] = run_parallel(argvs, fired['at'] + params['deadline'])
        for thread in threads:
            thread.join()

    capture = None
    if params['capture'] is not None:
        capture = _capture_around(module, params, fire)
    if 'outputs' not in fired:
        fire()
    started, outputs = fired['at'], fired['outputs']
    probes = []
    problems = []
    for target, (rc, out, err, interrupted) in zip(targets, outputs):
        result = summarize(target, rc, out, err, interrupted)
        probes.append(result)
        if not result['reachable']:
            problems.append({'code': 'target_unreachable', 'object': target,
                             'message': '%s: %s' % (target, result['error'])})
    dns = []
    for (spec, plan), out in zip(lookups, fired['dns']):
        if 'error' in out:
            module.fail_json(msg='cannot look up through %s: %s' % (spec['server'], out['error']))
        mine = [problem(r, spec['slow_threshold']) for r in out['queries'] if r['status'] != 'ok']
        problems.extend(mine)
        dns.append({'server': spec['server'], 'port': spec['port'], 'queries': out['queries'], 'problems': mine})
    result = dict(changed=False, probes=probes, problems=problems, flavor=flavor, netns=params['netns'],
                  elapsed=round(time.time() - started, 3))
    if params['dns'] is not None:
        result['dns'] = dns
    if capture is not None:
        result['capture'] = capture
    module.exit_json(**result)


if __name__ == '__main__':
    main()
