#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: packet_capture
short_description: Bounded tcpdump capture on one, several or all interfaces, returned as parsed packets
version_added: 1.0.0
description:
  - Runs C(tcpdump) on the given interfaces (one process per interface, all started together), optionally
    inside a network namespace and optionally at a given wall-clock instant, so that captures on many hosts
    open the same window.
  - Every capture is bounded by a deadline (O(duration)), a packet count (O(count)), a snap length
    (O(snaplen)) and a file size cap (O(max_file_size)); the count is lowered when needed so that
    count x (snaplen + 16) + 24 bytes never exceeds the cap.
  - No capture process outlives its deadline, even when the controller dies or the play is interrupted.
    tcpdump is started with C(PR_SET_PDEATHSIG) (it gets SIGTERM the moment this module's process
    dies) and with an C(alarm) armed before exec (SIGALRM kills it at O(duration) + 7 seconds even if
    this module hangs); the module itself stops it with SIGINT at the deadline and SIGKILL 2 seconds later.
  - Returns the packets decoded from C(tcpdump -r FILE -nn -e -v -tt) - time, interface, direction,
    addresses, protocol, ICMP type/id/seq, ports, DHCP message type and client MAC, DNS query and answer -
    and, with O(pcap_dir), keeps the pcap files for M(ansible.builtin.fetch).
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns
options:
  interface:
    description:
      - Interfaces to capture on, one tcpdump each. V(any) captures on all interfaces of the host or
        namespace at once (Linux cooked headers, so every packet is tagged with its interface and
        direction); it cannot be combined with other interfaces.
    type: list
    elements: str
    default: [any]
  filter:
    description:
      - BPF filter expression (as for tcpdump). It is compiled first (C(tcpdump -d)); an invalid filter
        fails the task with tcpdump's message before anything is captured.
    type: str
  duration:
    description:
      - Seconds the capture stays open, from the moment tcpdump listens, or with O(start_at) from that instant, so that
        captures on many hosts close together even when one was launched late.
    type: float
    default: 10
  count:
    description:
      - Stop after this many packets on an interface (C(-c)); lowered to fit O(max_file_size).
    type: int
    default: 1000
  snaplen:
    description:
      - Bytes kept of each packet (C(-s)). The default keeps whole DHCP and DNS packets.
    type: int
    default: 1600
  max_file_size:
    description:
      - Upper bound in bytes of each pcap file (one file per interface).
    type: int
    default: 10485760
  start_at:
    description:
      - Wall-clock instant to start the capture at, as epoch seconds or ISO 8601 (V(2026-11-25T21:00:00Z);
        without an offset the instant is UTC). The module sleeps until then; an instant in the past starts at
        once (see RV(start_lag)). At most 600 seconds in the future.
    type: str
  pcap_dir:
    description:
      - Directory on the target where the pcap files are kept (created with mode 0700 when missing).
        Without it the files are written to a private temporary directory and removed after parsing.
    type: path
  window_file:
    description:
      - Path of a file on the target that the module creates (mode 0600) when its captures listen and watches while
        they run; removing it closes the window before O(duration) (the M(cloudops.netdiag.path_capture) role removes
        it once its probe is done). The module removes it when it ends. It must not exist beforehand.
    type: path
  max_packets_returned:
    description:
      - At most this many parsed packets are returned (the earliest); the pcap keeps them all.
    type: int
    default: 2000
  iptables_counters:
    description:
      - Also read the iptables packet counters (C(iptables-save -c), in O(netns)) before the window opens and
        again when it closes, and return the rules and chain policies whose counters moved in
        RV(iptables_moved), so that a DROP or REJECT that fired during the window is named (what
        M(cloudops.netdiag.iptables_info) does with O(cloudops.netdiag.iptables_info#module:compare_to), without
        two more tasks).
      - A host where iptables cannot be read still captures; RV(iptables_error) says why.
    type: bool
    default: false
  iptables_backend:
    description:
      - Which iptables O(iptables_counters) reads. V(auto) runs C(iptables-save), V(nft) C(iptables-nft-save),
        V(legacy) C(iptables-legacy-save).
    type: str
    choices: [auto, nft, legacy]
    default: auto
notes:
  - Read-only for the network. Requires C(tcpdump) and, with O(netns) or named interfaces, C(ip) on the target.
  - Must run as root (or with CAP_NET_RAW and CAP_NET_ADMIN), like tcpdump.
seealso:
  - module: cloudops.netdiag.ping_probe
  - module: ansible.builtin.fetch
'''

EXAMPLES = r'''
- name: Capture the ICMP echo exchange on the bridge and the physical NIC for 5 seconds
  cloudops.netdiag.packet_capture:
    interface: [br100, eth1]
    filter: icmp[icmptype] = icmp-echoreply or icmp[icmptype] = icmp-echo
    duration: 5
  register: cap

- name: DHCP on every interface of the compute node, opening the window at a common instant
  cloudops.netdiag.packet_capture:
    interface: [any]
    filter: port 67 or port 68
    start_at: "{{ window_start }}"
    duration: 8
    pcap_dir: /var/tmp/netdiag-captures
  register: dhcp_cap
  async: 60
  poll: 0

- name: Bring the pcap home
  ansible.builtin.fetch:
    src: "{{ cap.captures[0].pcap }}"
    dest: captures/
  when: cap.captures[0].pcap
'''

RETURN = r'''
packets:
  description: Packets of all interfaces, sorted by time.
  returned: always
  type: list
  elements: dict
  sample:
    - time: 1795637674.271354
      time_text: "1795637674.271354"
      interface: vnet0
      direction: in
      link_src: fa:16:3e:00:00:24
      link_dst: null
      vlan: null
      ethertype: IPv4
      ip_id: 60221
      ttl: 64
      length: 84
      proto: icmp
      src: 10.0.2.24
      dst: 198.51.100.4
      sport: null
      dport: null
      icmp: {type: echo-request, id: 9683, seq: 1}
      dhcp: null
      dns: null
      tcp_flags: null
      summary: ICMP echo request, id 9683, seq 1, length 64
      duplicate_of: null
  contains:
    time:
      description: Capture time, epoch seconds.
      returned: always
      type: float
      sample: 1795637674.271354
    interface:
      description: Interface the packet was seen on.
      returned: always
      type: str
      sample: vnet0
    direction:
      description: V(in), V(out), V(broadcast), V(multicast) or V(otherhost) (null when unknown).
      returned: always
      type: str
      sample: in
    proto:
      description: V(icmp), V(udp), V(tcp), V(arp) or another IP protocol name.
      returned: always
      type: str
      sample: icmp
    src:
      description: Source address (without port).
      returned: always
      type: str
      sample: 10.0.2.24
    dst:
      description: Destination address (without port).
      returned: always
      type: str
      sample: 198.51.100.4
    icmp:
      description: C(type) (V(echo-request), V(echo-reply), V(unreachable), V(time-exceeded), ...), C(id), C(seq).
      returned: always
      type: dict
      sample: {type: echo-request, id: 9683, seq: 1}
    dhcp:
      description: C(op), C(message_type) (V(DISCOVER), V(OFFER), ...), C(client_mac), C(xid), C(your_ip),
        C(server_id), C(requested_ip), C(options).
      returned: always
      type: dict
      sample: {op: reply, message_type: OFFER, client_mac: "fa:16:3e:00:00:24", your_ip: 10.0.2.24}
    dns:
      description: C(id), C(response), C(qtype), C(qname), C(rcode), C(answers) (C(name), C(type), C(data)).
      returned: always
      type: dict
      sample: {id: 2, response: false, qtype: A, qname: openstack.org., rcode: null, answers: []}
    duplicate_of:
      description: Index (in this list) of the first copy of the same IP packet seen on another interface
        (a bridge port and its bridge), else null.
      returned: always
      type: int
      sample: null
captures:
  description: One entry per interface.
  returned: always
  type: list
  elements: dict
  sample:
    - interface: any
      pcap: null
      packets: 30
      stopped_by: deadline
      file_size: 9512
      effective_count: 1000
      stats: {captured: 30, received_by_filter: 30, dropped_by_kernel: 0}
  contains:
    interface:
      description: The interface.
      returned: always
      type: str
      sample: any
    pcap:
      description: Path of the kept pcap on the target (null without O(pcap_dir)).
      returned: always
      type: str
      sample: /var/tmp/netdiag-captures/capture-any.pcap
    packets:
      description: Packets read back from the file.
      returned: always
      type: int
      sample: 30
    stopped_by:
      description: V(deadline), V(count), V(size), V(window_closed) (O(window_file) removed) or V(exit).
      returned: always
      type: str
      sample: deadline
    file_size:
      description: Largest size the pcap file reached, in bytes.
      returned: always
      type: int
      sample: 9512
    effective_count:
      description: The packet count passed to tcpdump.
      returned: always
      type: int
      sample: 1000
    stats:
      description: tcpdump's exit counters.
      returned: always
      type: dict
      sample: {captured: 30, received_by_filter: 30, dropped_by_kernel: 0}
started_at:
  description: Epoch seconds when every capture was listening.
  returned: always
  type: float
  sample: 1795637670.02
ended_at:
  description: Epoch seconds when the last capture stopped.
  returned: always
  type: float
  sample: 1795637680.05
start_lag:
  description: Seconds between O(start_at) and the moment the captures listened (null without O(start_at)).
  returned: always
  type: float
  sample: 0.04
netns:
  description: The namespace captured in (O(netns)).
  returned: always
  type: str
  sample: null
filter:
  description: The BPF filter used (O(filter)).
  returned: always
  type: str
  sample: icmp
truncated:
  description: More packets were captured than O(max_packets_returned).
  returned: always
  type: bool
  sample: false
iptables_moved:
  description:
    - With O(iptables_counters), the rules and chain policies whose packet counters increased during the window,
      DROP and REJECT first (the entries of M(cloudops.netdiag.iptables_info)'s RV(cloudops.netdiag.iptables_info#module:moved)).
    - Null without O(iptables_counters) or when iptables could not be read (see RV(iptables_error)).
  returned: always
  type: list
  elements: dict
  sample: [{table: filter, chain: FORWARD, index: 1, target: DROP, rule: "-A FORWARD -d 10.0.0.3/32 -j DROP",
            packets: 1, bytes: 84, drop: true, policy: false}]
iptables_error:
  description: Why O(iptables_counters) could not be honoured (the capture itself is unaffected); null otherwise.
  returned: always
  type: str
  sample: iptables-save was not found on the target host
'''

import json
import os
import re
import shutil
import tempfile
import time

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._capture import (
    KILL_GRACE, CaptureError, annotate_duplicates, effective_count, parse_tcpdump,
    module_start_instant, parse_tcpdump_stats, read_argv, sleep_until, start_captures, stop_captures, supervise,
    tcpdump_argv, tcpdump_error, wait_listening)
from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import SAVE_BINARIES, IptablesError, compare_counters, parse_save
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, netns_argv, netns_path, read_dump

_IFNAME = re.compile(r'^[A-Za-z0-9_.:@+-]{1,15}$')
LISTEN_TIMEOUT = 5.0
HARD_MARGIN = 5.0


def _run(module, argv, netns, ip_bin):
    return module.run_command(netns_argv(netns, argv, ip_bin=ip_bin), environ_update={'LC_ALL': 'C'})


class _Counters(object):
    """iptables packet counters of the capture's namespace when the window opens and when it closes.

    A host where iptables cannot be read still captures: the reason is kept in ``error`` and ``moved`` stays None.
    """

    def __init__(self, module, backend, netns):
        self.module = module
        self.binary = SAVE_BINARIES[backend]
        self.netns = netns
        self.before = None
        self.moved = None
        self.error = None

    def _save(self):
        try:
            out, dummy = read_dump(self.module, self.binary, self.netns)
            return parse_save(out, allow_empty=True)
        except NetnsError as exc:
            self.error = str(exc)
        except IptablesError as exc:
            self.error = 'cannot parse the output of %s: %s' % (self.binary, exc)
        return None

    def snapshot(self):
        if self.error is None:
            self.before = self._save()

    def compare(self):
        if self.error is None and self.before is not None:
            after = self._save()
            if after is not None:
                self.moved = compare_counters(self.before, after)['moved']


def _check_interfaces(module, interfaces, netns, ip_bin):
    """Fail unless every named interface exists; return {interface: [MACs]} for direction."""
    macs = {}
    where = ' in namespace %s' % netns if netns else ''
    for name in interfaces:
        if name == 'any':
            continue
        rc, out, err = _run(module, [ip_bin, '-j', 'link', 'show', 'dev', name], netns, ip_bin)
        if rc != 0:
            module.fail_json(msg='interface %s does not exist%s: %s' % (name, where, (err or out).strip()))
        try:
            links = json.loads(out)
        except ValueError:
            module.fail_json(msg='cannot read interface %s%s: ip -j printed no JSON' % (name, where))
        macs[name] = [link['address'] for link in links if len(link.get('address') or '') == 17]
    return macs


def main():
    module = NetdiagModule(
        argument_spec=dict(
            interface=dict(type='list', elements='str', default=['any']),
            netns=dict(type='str'),
            filter=dict(type='str'),
            duration=dict(type='float', default=10),
            count=dict(type='int', default=1000),
            snaplen=dict(type='int', default=1600),
            max_file_size=dict(type='int', default=10485760),
            start_at=dict(type='str'),
            pcap_dir=dict(type='path'),
            max_packets_returned=dict(type='int', default=2000),
            window_file=dict(type='path'),
            iptables_counters=dict(type='bool', default=False),
            iptables_backend=dict(type='str', default='auto', choices=['auto', 'nft', 'legacy']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    interfaces = p['interface']
    if not interfaces:
        module.fail_json(msg='interface is empty: give at least one interface or any')
    if len(set(interfaces)) != len(interfaces):
        module.fail_json(msg='interface lists %s more than once' % ', '.join(sorted(set(i for i in interfaces if interfaces.count(i) > 1))))
    if 'any' in interfaces and len(interfaces) > 1:
        module.fail_json(msg='interface any already captures on every interface; do not combine it with %s'
                         % ', '.join(i for i in interfaces if i != 'any'))
    for name in interfaces:
        if not _IFNAME.match(name or '') or name.startswith('-'):
            module.fail_json(msg='invalid interface name %r' % (name,))
    if not 0 < p['duration'] <= 3600:
        module.fail_json(msg='duration must be more than 0 and at most 3600 seconds, got %s' % p['duration'])
    if not 1 <= p['count'] <= 1000000:
        module.fail_json(msg='count must be between 1 and 1000000, got %d' % p['count'])
    if not 64 <= p['snaplen'] <= 262144:
        module.fail_json(msg='snaplen must be between 64 and 262144, got %d' % p['snaplen'])
    if p['max_packets_returned'] < 0:
        module.fail_json(msg='max_packets_returned must not be negative')
    count = effective_count(p['count'], p['snaplen'], p['max_file_size'])
    if count < 1:
        module.fail_json(msg='max_file_size %d cannot hold a single packet of snaplen %d (needs at least %d bytes)'
                         % (p['max_file_size'], p['snaplen'], p['snaplen'] + 40))
    if p['filter'] is not None and p['filter'].lstrip().startswith('-'):
        module.fail_json(msg='invalid BPF filter %r: it must not start with -' % (p['filter'],))
    start_at = module_start_instant(module, p['start_at'])

    window_file = p['window_file']
    if window_file:
        if not os.path.isdir(os.path.dirname(window_file) or '.'):
            module.fail_json(msg='the directory of window_file %s does not exist' % window_file)
        if os.path.lexists(window_file):
            module.fail_json(msg='window_file %s already exists' % window_file)

    tcpdump = module.get_bin_path('tcpdump', required=True)
    ip_bin = 'ip'
    netns = p['netns']
    if netns or any(i != 'any' for i in interfaces):
        ip_bin = module.get_bin_path('ip', required=True)
    if netns:
        try:
            netns_path(netns)
        except NetnsError as exc:
            module.fail_json(msg='cannot capture in namespace: %s' % exc)
    macs = _check_interfaces(module, interfaces, netns, ip_bin)

    # Compile the filter first: a syntax error is reported before anything is started.
    check = [tcpdump, '-d', '-i', interfaces[0]] + ([p['filter']] if p['filter'] else [])
    rc, out, err = _run(module, check, netns, ip_bin)
    if rc != 0:
        if p['filter']:
            module.fail_json(msg='invalid BPF filter %r: %s' % (p['filter'], tcpdump_error(err)))
        module.fail_json(msg='tcpdump cannot open %s: %s' % (interfaces[0], tcpdump_error(err)))

    if p['pcap_dir']:
        workdir = p['pcap_dir']
        try:
            os.makedirs(workdir, mode=0o700, exist_ok=True)
        except OSError as exc:
            module.fail_json(msg='cannot create pcap_dir %s: %s' % (workdir, exc.strerror))
    else:
        workdir = tempfile.mkdtemp(prefix='netdiag-capture-')

    counters = _Counters(module, p['iptables_backend'], netns) if p['iptables_counters'] else None
    try:
        if counters:
            counters.snapshot()     # before the window: the probe fires after it opens
        sleep_until(start_at)
        specs = []
        for name in interfaces:
            pcap = os.path.join(workdir, 'capture-%s.pcap' % name)
            argv = tcpdump_argv(tcpdump, name, pcap, p['snaplen'], count, p['filter'])
            specs.append({'interface': name, 'pcap_path': pcap, 'err_path': pcap + '.log',
                          'argv': netns_argv(netns, argv, ip_bin=ip_bin)})
        hard = LISTEN_TIMEOUT + p['duration'] + KILL_GRACE
        try:
            captures = start_captures(specs, hard)
        except CaptureError as exc:
            module.fail_json(msg=str(exc))
        errors = wait_listening(captures, time.time() + LISTEN_TIMEOUT)
        if errors:
            stop_captures(captures, 'error')
            module.fail_json(msg='capture failed on %s' % '; '.join('%s: %s' % kv for kv in sorted(errors.items())))
        if window_file:
            try:
                os.close(os.open(window_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError as exc:
                stop_captures(captures, 'error')
                module.fail_json(msg='cannot create window_file %s: %s' % (window_file, exc.strerror))
        started_at = time.time()
        # With start_at every host's window ends at the same instant, even for a capture launched late.
        deadline = (start_at if start_at is not None else started_at) + p['duration']
        supervise(captures, deadline, p['max_file_size'], window_file=window_file)
        ended_at = time.time()
        if counters:
            counters.compare()

        packets = []
        results = []
        for cap in captures:
            rc, out, err = _run(module, read_argv(tcpdump, cap.pcap_path), netns, ip_bin)
            if rc != 0 and not out:
                module.fail_json(msg='cannot read back the capture of %s: %s' % (cap.interface, tcpdump_error(err)))
            parsed = parse_tcpdump(out, interface=None if cap.interface == 'any' else cap.interface,
                                   local_macs=macs.get(cap.interface))
            packets.extend(parsed)
            results.append({'interface': cap.interface, 'pcap': cap.pcap_path if p['pcap_dir'] else None,
                            'packets': len(parsed), 'stopped_by': cap.stopped_by, 'file_size': cap.max_size_seen,
                            'effective_count': count, 'stats': parse_tcpdump_stats(cap.stderr)})
        packets.sort(key=lambda pkt: pkt['time'])
        annotate_duplicates(packets)
        truncated = len(packets) > p['max_packets_returned']
        packets = packets[:p['max_packets_returned']]
        for cap in captures:
            try:
                os.unlink(cap.err_path)
            except OSError:
                pass
    finally:
        if not p['pcap_dir']:
            shutil.rmtree(workdir, ignore_errors=True)
        if window_file:
            try:
                os.unlink(window_file)
            except OSError:
                pass

    module.exit_json(changed=False, packets=packets, captures=results, started_at=started_at, ended_at=ended_at,
                     start_lag=round(started_at - start_at, 6) if start_at is not None else None,
                     truncated=truncated, netns=netns, filter=p['filter'],
                     iptables_moved=counters.moved if counters else None,
                     iptables_error=counters.error if counters else None)


if __name__ == '__main__':
    main()
