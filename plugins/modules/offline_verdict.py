#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: offline_verdict
short_description: Verdict of an instance's network path from sosreports or collected bundles, without the hosts
version_added: 0.2.0
description:
  - Reads every host found under O(source) on the controller - unpacked sosreports, sosreport archives (C(.tar.xz),
    C(.tar.gz), C(.tar.bz2), C(.tar)), bundles written by C(collect_network_facts.yml) (C(hosts/<host>.json)), a single
    host document, or a directory holding any mix of them - finds the instance in the hosts' libvirt domains (by domain
    name, uuid or nova's display name) and evaluates the same verdict engine as C(diagnose_instance.yml) on what the
    files show.
  - Each fact is read by the collection's own module code on the copied text, from the files as sos names them
    (C(sos_commands/networking/ip_-d_address), C(iptables_-vnxL) or C(iptables_-t_<table>_-nvL) or an
    C(iptables-save), C(sos_commands/kernel/sysctl_-a), C(sos_commands/process/ps_auxwww), C(var/log/syslog),
    C(etc/nova/nova.conf), C(etc/libvirt/qemu/*.xml), C(sos_commands/networking/ip_route_show_table_all)).
  - What only the live hosts can show (the ping ladder, the per-hop capture, counters that move during a probe, DNS and
    DHCP probes) and the facts the source does not hold (sos 4.0 copies neither nova's console logs nor
    C(ebtables-save); without C(/proc/net/ip_tables_names) entries it lists no nat table) are listed in
    C(verdict.offline.not_checkable); rules that need them are in C(verdict.unchecked).
  - Never runs a command and never reads a path outside O(source); archives are unpacked into a private scratch
    directory, refusing members that would land outside it, and removed afterwards.
  - See C(docs/offline.md).
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode no report file is written; C(changed) says whether one would change.
  diff_mode:
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
options:
  source:
    description:
      - Path on the controller to a sosreport (directory or archive), a collected bundle, a host document, or a
        directory of several of them (searched two levels deep).
    type: path
    required: true
  instance:
    description:
      - The instance's libvirt domain name (C(instance-0000002a)), uuid, or nova display name.
    type: str
    required: true
  symptom:
    description:
      - What the operator reports. With V(none) (facts only) a cause is named when the files prove it.
      - With V(unreachable) the instance was reported unreachable, so a finding that only fits the fault (a DROP rule for
        the instance that counted nothing) is named too, and with no finding the verdict is C(unknown).
    type: str
    choices: [none, unreachable]
    default: none
  dest_dir:
    description:
      - Directory on the controller for the report files (JSON, Markdown, HTML, as P(cloudops.netdiag.diagnose_report#module)
        writes them); created when missing. Without it nothing is written.
    type: path
  formats:
    description:
      - Which report files to write.
    type: list
    elements: str
    choices: [json, md, html]
    default: [json, md, html]
seealso:
  - module: cloudops.netdiag.diagnose_report
'''

EXAMPLES = r'''
- name: Verdict from the sosreports of an escalation
  cloudops.netdiag.offline_verdict:
    source: /srv/escalations/1234
    instance: web-1
    dest_dir: /srv/escalations/1234/netdiag
  register: offline

- name: Show the cause
  ansible.builtin.debug:
    msg: "{{ offline.verdict.summary }}: {{ offline.verdict.advice }}"
'''

RETURN = r'''
verdict:
  description:
    - The verdict, in the shape of P(cloudops.netdiag.diagnose_report#module)'s, with C(offline) added (C(compute_host),
      C(source), C(kind) V(sosreport) or V(bundle), C(fixed_ip_from), C(not_checkable) (list of C(what), C(reason)),
      C(notes)).
  returned: success
  type: dict
  sample:
    status: fault
    cause: vnet_down
    segment: instance_to_compute
    summary: "vm1: vnet down in segment instance_to_compute"
    offline: {compute_host: compute1, kind: sosreport, not_checkable: [{what: probes, reason: the ping ladder needs the live hosts}]}
report:
  description: The whole report document (see C(docs/report.md)).
  returned: success
  type: dict
hosts:
  description: Each host read (C(host), C(kind), C(path), C(sos_version), C(missing) facts).
  returned: success
  type: list
  elements: dict
  sample: [{host: compute1, kind: sosreport, path: /srv/escalations/1234/sosreport-compute1-2026-12-07-abc, sos_version: "4.0", missing: [ebtables_info]}]
unreadable:
  description: What under O(source) could not be read, with the reason (the verdict is made from the rest).
  returned: success
  type: list
  elements: str
files:
  description: Path of each report file written (or that would be written in check mode), by format.
  returned: success
  type: dict
'''
