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
  side_filter:
    description:
      - A second BPF filter, captured by one capture of its own on every interface of the namespace (C(any); each
        packet keeps the interface it was seen on), bounded by O(side_count), that does not hold the window open - it
        closes when the main captures close (O(count), O(duration) or O(window_file)). For traffic that should be seen
        while the main probe is captured, without waiting for it (the diagnose role watches the instance's DNS
        lookups beside its marked pings this way).
      - Its packets are among RV(packets); its entry in RV(captures) has C(side=true).
    type: str
  side_count:
    description:
      - At most this many packets in the side capture (O(side_filter)).
    type: int
    default: 200
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
    side:
      description: A side capture (O(side_filter)).
      returned: for side captures
      type: bool
      sample: true
    stopped_by:
      description: V(deadline), V(count), V(size), V(window_closed) (O(window_file) removed), V(main_closed) (a side
        capture closed with the main ones) or V(exit).
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
side_filter:
  description: The side captures' BPF filter (O(side_filter)), or null.
  returned: always
  type: str
  sample: udp port 53
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
down_interfaces:
  description:
    - Interfaces of O(interface) that are down (no C(UP) flag). tcpdump cannot open them, so they are not captured and
      have no entry in RV(captures); the others are. Every interface down fails the module, naming them.
  returned: always
  type: list
  elements: str
  sample: [vnet0]
iptables_error:
  description: Why O(iptables_counters) could not be honoured (the capture itself is unaffected); null otherwise.
  returned: always
  type: str
  sample: iptables-save was not found on the target host
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._capturerun import CAPTURE_SPEC, run_capture


def main():
    module = NetdiagModule(argument_spec=CAPTURE_SPEC, supports_check_mode=True)
    dummy, result = run_capture(module, module.params)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
