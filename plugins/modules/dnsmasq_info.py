#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: dnsmasq_info
short_description: dnsmasq processes, pid files, hosts files and DHCP events per MAC
version_added: 0.1.0
description:
  - Finds every dnsmasq process from C(/proc) (pid, parent, user, command line) and parses its arguments
    the way dnsmasq does (C(--opt=value), C(--opt value), short options), each C(--dhcp-range) with its
    tag exactly as written (nova writes V(set:'novanetwork')), start, end, mode and lease time, the hosts
    file, lease file, pid file, listen addresses, interfaces, domain, lease limit, script, servers, user.
  - Checks every pid file (those of the processes and C(nova-*.pid) in O(state_dir)) - is its pid a live
    dnsmasq, a reused pid, or gone? A pid file whose process is gone is how a killed dnsmasq shows, and is
    reported as problem V(dhcp_server_down).
  - Finds which bridge each dnsmasq serves (the interface owning its listen address, else its
    C(--interface), else nova's file name C(nova-<bridge>.pid)), reads the hosts files (MAC, name, IP)
    and the lease files.
  - Reads the DHCP events of the log O(log_path) (syslog, RFC 3339 syslog, or dnsmasq's own
    C(--log-facility) file) from the end backwards within O(max_bytes) / O(max_lines), so the most recent
    events win, and groups them per MAC with a result for the latest attempt of each MAC - V(complete),
    V(discover_only), V(offer_without_request), V(request_without_ack), V(no_address_available), V(nak),
    V(ignored), V(released), or V(never_seen) for MACs of the hosts files (or of O(mac)) absent from the log.
  - Read-only. For each main process it returns the exact targeted restart an operator could run (by pid,
    never C(killall)) but never runs it.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  state_dir:
    description:
      - nova-network's dnsmasq state directory (C(nova-<bridge>.conf) hosts files, C(nova-<bridge>.pid)), or one
        network's directory of Neutron's DHCP agent (C(<dhcp_confs>/<network id>), with C(pid), C(host), C(opts),
        C(leases)); Neutron's files are labelled C(qdhcp-<network id>) where nova's name their bridge.
      - A missing directory is not an error (a host without nova-network); it gives a warning.
    type: path
    default: /var/lib/nova/networks
  log_path:
    description:
      - Log file holding dnsmasq's DHCP lines (lines of C(dnsmasq-dhcp) such as C(DHCPDISCOVER(br100\) fa:16:3e:56:0b:6f)).
      - Set to an empty string to skip the log.
      - A missing file gives a warning unless O(log_required=true).
    type: path
    default: /var/log/syslog
  log_required:
    description:
      - Fail when O(log_path) does not exist.
    type: bool
    default: false
  mac:
    description:
      - Only analyse the log events of these MACs (any case); MACs never seen in the log are reported with
        result V(never_seen).
      - Without it, every MAC of the log is analysed and the MACs of the hosts files that never appear are
        reported as V(never_seen).
    type: list
    elements: str
  since:
    description:
      - Ignore log events older than this time (C(YYYY-MM-DD HH:MM:SS), ISO 8601, or syslog's C(Nov 25 20:13:00)),
        as written in the log (local time of the logging host). Reading stops at the first older event.
    type: str
  max_lines:
    description:
      - Read at most this many lines from the end of the log. V(0) means no line cap.
    type: int
    default: 0
  max_bytes:
    description:
      - Read at most this many bytes from the end of the log. V(0) means no byte cap.
    type: int
    default: 104857600
  netns:
    description:
      - Network namespace whose dnsmasq processes are reported and in which listen addresses are resolved
        to interfaces. Omitted means the namespace the module runs in.
    type: str
  all_namespaces:
    description:
      - Report the dnsmasq processes of every network namespace, not only those of O(netns).
    type: bool
    default: false
  ps_output:
    description:
      - Text of C(ps aux) (or C(ps aux | grep dnsmasq), wrapped lines allowed) to take the processes from instead of
        C(/proc), for offline analysis of pasted output. Pid files, hosts files and the log are still read from
        O(state_dir) and O(log_path) when they exist; listen addresses are not resolved (the bridge comes from
        C(--interface) or nova's file names).
    type: str
notes:
  - Reading other users' C(/proc/<pid>/ns/net) needs root; without it only the dnsmasq processes whose
    namespace can be read are reported (or use O(all_namespaces=true)).
seealso:
  - module: cloudops.netdiag.console_log_info
  - module: cloudops.netdiag.interface_info
'''

EXAMPLES = r'''
- name: dnsmasq facts and the DHCP history of one instance's MAC
  cloudops.netdiag.dnsmasq_info:
    mac: ['fa:16:3e:56:0b:6f']
    since: '2026-11-25 20:00:00'
  register: dm

- name: Per-MAC verdict
  ansible.builtin.debug:
    msg: "{{ dm.dnsmasq.log.macs['fa:16:3e:56:0b:6f'].result }}"

- name: Is any dnsmasq down?
  ansible.builtin.debug:
    msg: "{{ dm.problems | selectattr('code', 'equalto', 'dhcp_server_down') | map(attribute='message') | list }}"

- name: Analyse pasted "ps aux | grep dnsmasq" output on the controller
  cloudops.netdiag.dnsmasq_info:
    ps_output: "{{ lookup('ansible.builtin.file', 'compute1-ps.txt') }}"
    state_dir: /nonexistent
    log_path: ''
  delegate_to: localhost

- name: dnsmasq's own log file, last 200000 lines only
  cloudops.netdiag.dnsmasq_info:
    log_path: /var/log/dnsmasq.log
    max_lines: 200000
'''

RETURN = r'''
dnsmasq:
  description: dnsmasq facts of the host.
  returned: always
  type: dict
  contains:
    state_dir:
      description: The state directory and whether it exists.
      type: dict
      returned: always
      sample: {path: /var/lib/nova/networks, exists: true}
    processes:
      description: One entry per dnsmasq process, by pid.
      type: list
      elements: dict
      returned: always
      sample:
        - pid: 2438
          ppid: 1
          user: nobody
          uid: 65534
          comm: dnsmasq
          role: main
          argv: [/usr/sbin/dnsmasq, --strict-order, --bind-interfaces, --conf-file=, --domain=novalocal]
          bridge: br100
          bridge_source: listen-address
          args:
            binary: /usr/sbin/dnsmasq
            dhcp_ranges: [{raw: "set:'novanetwork',192.168.100.2,static,120s", set_tags: ["'novanetwork'"], tags: [],
                           start: 192.168.100.2, end: null, mode: static, lease_time: 120s, lease_seconds: 120,
                           netmask: null, broadcast: null, prefix_length: null}]
            hostsfile: /var/lib/nova/networks/nova-br100.conf
            pid_file: /var/lib/nova/networks/nova-br100.pid
            listen_addresses: [192.168.100.1]
            except_interfaces: [lo]
            leasefile_ro: true
            dhcp_lease_max: 256
          pid_file: {path: /var/lib/nova/networks/nova-br100.pid, pid: 2438, status: alive, comm: dnsmasq}
          restart_advice: {pid: 2438, pid_file: /var/lib/nova/networks/nova-br100.pid,
                           commands: [kill -HUP 2438, kill -TERM 2438], then: restart nova-network, note: "..."}
    pid_files:
      description: >-
        Every pid file checked, with its pid, C(status) (V(alive), V(stale), V(not_dnsmasq),
        V(invalid), V(missing), V(unreadable)), the bridge and the dnsmasq processes that use it.
      type: list
      elements: dict
      returned: always
      sample: [{path: /var/lib/nova/networks/nova-br100.pid, pid: 2438, status: stale, comm: null, bridge: br100,
                processes: []}]
    hosts_files:
      description: Hosts files (of the processes and C(nova-*.conf) in the state directory) with their entries.
      type: list
      elements: dict
      returned: always
      sample: [{path: /var/lib/nova/networks/nova-br100.conf, bridge: br100,
                entries: [{mac: 'fa:16:3e:56:0b:6f', macs: ['fa:16:3e:56:0b:6f'], hostname: test.novalocal,
                           ip: 192.168.100.3, line: 1}]}]
    log:
      description: >-
        The log analysis - C(status) (V(ok), V(missing), V(not_requested)), bytes and lines read,
        whether the caps cut the read (C(truncated)), the dnsmasq lifecycle lines per server pid,
        and C(macs), a dict keyed by lowercase MAC with the counts per DHCP message, the result of the
        latest attempt, the IPs, interfaces and hostnames seen, first and last timestamps and evidence lines.
      type: dict
      returned: always
      sample:
        path: /var/log/syslog
        status: ok
        lines_scanned: 1000000
        events: 4
        truncated: false
        macs:
          'fa:16:3e:56:0b:6f':
            result: complete
            counts: {DHCPDISCOVER: 1, DHCPOFFER: 1, DHCPREQUEST: 1, DHCPACK: 1}
            ips: [192.168.100.3]
            interfaces: [br100]
            hostnames: [test]
            last_seen: Feb 27 22:01:36
            evidence: ['Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f']
problems:
  description: >-
    What is unhealthy, each with a stable C(code) - V(dhcp_server_down), V(dnsmasq_duplicate),
    V(dnsmasq_pid_file_invalid), V(dnsmasq_hosts_file_unreadable), V(dhcp_no_address_available), V(dhcp_discover_only),
    V(dhcp_offer_without_request), V(dhcp_request_without_ack), V(dhcp_nak), V(dhcp_ignored), V(dhcp_never_seen) -
    a message, the object (bridge, file or MAC) and evidence lines.
  returned: always
  type: list
  elements: dict
  sample: [{code: dhcp_no_address_available, object: 'fa:16:3e:78:44:84',
            message: dnsmasq answered DHCPDISCOVER from fa:16:3e:78:44:84 with "no address available" ...,
            evidence: ['Feb 27 22:01:36 mynode dnsmasq-dhcp[25435]: DHCPDISCOVER(br100) fa:16:3e:78:44:84 no address available']}]
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'dnsmasq_info')


if __name__ == '__main__':
    main()
