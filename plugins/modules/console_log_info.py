#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: console_log_info
short_description: Analyse an instance console log for DHCP, metadata service and name resolution failures
version_added: 0.1.0
description:
  - >-
    Reads an instance console log (what C(nova console-log) shows, C(<instances_dir>/<uuid>/console.log) on
    the compute node) and finds the DHCP client runs in it - busybox C(udhcpc) in the old Cirros wording
    (C(Sending discover...), C(No lease, forking to background)) and the
    current one (C(udhcpc: started, v1.35.0), C(udhcpc: no lease, failing)), ISC C(dhclient)
    (C(DHCPDISCOVER on eth0 to 255.255.255.255 port 67 interval 3), C(No DHCPOFFERS received.),
    C(bound to 10.0.0.3)) - and whether each obtained a lease, with the address.
  - Finds metadata service (169.254.169.254) failures - Cirros C(wget) errors, cloud-init
    C(url_helper.py[WARNING]) lines - with their reason (V(unreachable), V(no_route), V(refused),
    V(timeout), V(http_error)), and the addresses of cloud-init's C(ci-info) device table.
  - >-
    Finds name resolution failures printed in the guest (curl's C(Could not resolve host), C(wget: bad address),
    C(ping: NAME: Temporary failure in name resolution), C(;; connection timed out; no servers could be reached),
    apt's C(Temporary failure resolving), ...) with the names that failed. The diagnose role looks those names up
    through the instance's DNS server with M(cloudops.netdiag.dns_probe).
  - Every finding carries the matching lines and their line numbers as evidence. ANSI colour sequences are
    removed first.
  - Only the last O(max_bytes) of the file are read, so a huge log costs a bounded amount of work; line
    numbers then count from the first complete line read.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  path:
    description:
      - Console log file to analyse.
      - Exactly one of O(path) and O(instance_uuid) is required.
    type: path
  instance_uuid:
    description:
      - Analyse C(<instances_dir>/<instance_uuid>/console.log).
    type: str
  instances_dir:
    description:
      - nova's instances directory on the compute node, used with O(instance_uuid).
    type: path
    default: /var/lib/nova/instances
  max_bytes:
    description:
      - Read at most this many bytes from the end of the log. V(0) reads it all.
    type: int
    default: 1048576
seealso:
  - module: cloudops.netdiag.dnsmasq_info
'''

EXAMPLES = r'''
- name: Did the instance get an address by DHCP?
  cloudops.netdiag.console_log_info:
    instance_uuid: 0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11
  register: con

- name: Show the verdict
  ansible.builtin.debug:
    msg: "{{ con.console_log.result }}: {{ con.problems | map(attribute='message') | list }}"

- name: Analyse a saved "nova console-log" output on the controller
  cloudops.netdiag.console_log_info:
    path: /tmp/instance-console.txt
  delegate_to: localhost
'''

RETURN = r'''
console_log:
  description: The analysis of the log.
  returned: always
  type: dict
  contains:
    path:
      description: File analysed.
      type: str
      returned: always
      sample: /var/lib/nova/instances/0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11/console.log
    size:
      description: File size in bytes.
      type: int
      returned: always
      sample: 28119
    truncated:
      description: Whether only the tail of the file was read (O(max_bytes)).
      type: bool
      returned: always
      sample: false
    modified:
      description: >-
        When the file was last written, in the host's local time (ISO 8601, as the syslog stamps of the dnsmasq log):
        the guest's latest DHCP attempt ended then at the latest, which tells a current failure from an older
        success in the dnsmasq log.
      type: str
      returned: always
      sample: '2026-12-06T19:14:17'
    result:
      description: >-
        V(dhcp_no_lease) (the last DHCP client run got no lease), V(metadata_unreachable),
        V(name_resolution_failed) (see RV(console_log.name_resolution)), V(ok) (a lease, or an address in cloud-init's
        table), or V(no_dhcp_seen), in this order of precedence.
      type: str
      returned: always
      sample: dhcp_no_lease
    lease:
      description: The lease of the last DHCP run, V(null) if it got none.
      type: dict
      returned: always
      sample: {address: 10.0.0.3, server: 10.0.0.1, lease_time: 86400}
    dhcp_runs:
      description: >-
        Each DHCP client run with client (V(udhcpc), V(dhclient)), version, interface, number of discovers, offers,
        requests, NAKs, lease, result (V(lease), V(nak_then_lease), V(no_lease), V(in_progress)) and evidence lines.
      type: list
      elements: dict
      returned: always
      sample: [{client: udhcpc, version: 1.17.2, interface: eth0, discovers: 3, offers: [], requests: [], naks: 0,
                lease: null, result: no_lease, start_line: 1, end_line: 6,
                evidence: [{line: 1, text: udhcpc (v1.17.2) started}, {line: 2, text: Sending discover...}]}]
    metadata:
      description: >-
        Metadata service findings - status (V(ok), V(failed), V(unknown)), attempts, failures, reasons and evidence.
      type: dict
      returned: always
      sample: {status: failed, attempts: 1, failures: 1, reasons: [unreachable], ok: false,
               evidence: [{line: 8, text: "wget: can't connect to remote host (169.254.169.254): Network is unreachable"}]}
    interfaces:
      description: Devices of cloud-init's C(ci-info) table with up flag, addresses and hardware address.
      type: dict
      returned: always
      sample: {eth0: {up: true, addresses: [10.0.0.3], hw_address: 'fa:16:3e:56:0b:6f', line: 5}}
    name_resolution:
      description: >-
        Name resolution failures printed in the guest (curl, wget, ping, nslookup, host, dig, apt, Python's
        C(gaierror)): status (V(failed) when a lookup timed out, got SERVFAIL or could not be resolved; V(nxdomain)
        when the only failures were names that do not exist; V(unknown) when no lookup failed), the number of
        failures, the names the tools printed (a timeout of C(nslookup) or C(gaierror) names none), reasons
        (V(timeout), V(servfail), V(not_found), V(nxdomain)), the line of the last failure and evidence. Lines about
        the metadata address are left to RV(console_log.metadata).
      type: dict
      returned: always
      sample: {status: failed, failures: 2, names: [mirror.example.org], reasons: [timeout], last_failure_line: 41,
               evidence: [{line: 41, text: "curl: (6) Could not resolve host: mirror.example.org"}]}
problems:
  description: >-
    V(dhcp_no_lease), V(metadata_unreachable) and V(name_resolution_failed) findings with code, message, object and
    evidence.
  returned: always
  type: list
  elements: dict
  sample: [{code: dhcp_no_lease, object: eth0, message: udhcpc sent 3 DHCPDISCOVER(s) without any offer and got no lease,
            evidence: ['2: Sending discover...']}]
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'console_log_info')


if __name__ == '__main__':
    main()
