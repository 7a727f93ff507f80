#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: diagnose_report
short_description: Verdict of a network diagnosis and its report files (JSON, Markdown, HTML), on the controller
version_added: 1.0.0
description:
  - Evaluates the evidence collected by the P(cloudops.netdiag.diagnose#role) role (the same engine as the
    P(cloudops.netdiag.netdiag_verdict#filter) filter) and writes C(<dest_dir>/<basename>.json), C(.md) and C(.html).
  - The JSON document is described in C(docs/report.md) and validated by C(schemas/diagnose_report.schema.json); the
    HTML page is self-contained (no script) and draws the path, wrapping to the width of the window, with each hop
    coloured by what was observed there and the place of the cause (a hop, a host's firewall or NAT, a DB row) marked.
  - Runs entirely on the controller (an action plugin); files are written atomically and only when their content changes.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode nothing is written; C(changed) says whether a file would change.
  diff_mode:
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
options:
  evidence:
    description:
      - The evidence of the diagnosis, see P(cloudops.netdiag.netdiag_verdict#filter) and C(docs/report.md).
    type: dict
    required: true
  query:
    description:
      - The instance name, uuid or display name the operator asked for (recorded in the report).
    type: str
  timings:
    description:
      - Seconds spent per phase, recorded in the report.
    type: dict
    default: {}
  dest_dir:
    description:
      - Directory on the controller for the report files; created when missing. Without it nothing is written.
    type: path
  basename:
    description:
      - File name without extension; defaults to O(query) with anything but letters, digits, C(_), C(.) and C(-)
        replaced by C(_).
    type: str
  formats:
    description:
      - Which files to write.
    type: list
    elements: str
    choices: [json, md, html]
    default: [json, md, html]
seealso:
  - module: cloudops.netdiag.nova_network_info
'''

EXAMPLES = r'''
- name: Verdict and report files
  cloudops.netdiag.diagnose_report:
    evidence: "{{ evidence }}"
    query: vm1
    dest_dir: /var/tmp/reports
  register: diag

- name: Show the cause
  ansible.builtin.debug:
    msg: "{{ diag.verdict.cause }} in {{ diag.verdict.segment }}: {{ diag.verdict.advice }}"
'''

RETURN = r'''
verdict:
  description: The verdict (status, segment, cause, hop, summary, evidence, advice, suspects, notes).
  returned: always
  type: dict
  sample:
    status: fault
    segment: instance_to_compute
    cause: vnet_down
    hop: 01-vnet
    summary: "vm1: vnet down in segment instance_to_compute"
    evidence: [{host: compute1, source: interface_info, excerpt: "vnet0: <BROADCAST,MULTICAST> mtu 1500 master br100 state DOWN"}]
    advice: "On compute1: `ip link set vnet0 up` (the tap of vm1)."
    suspects: [{cause: vnet_down, segment: instance_to_compute, confirmed: true}]
    notes: []
report:
  description: The whole report document (see C(docs/report.md)).
  returned: always
  type: dict
  sample: {schema_version: 1, tool: cloudops.netdiag.diagnose_instance, verdict: {status: ok, cause: none}}
files:
  description: Path of each file written (or that would be written in check mode), by format.
  returned: always
  type: dict
  sample: {json: /var/tmp/reports/vm1.json, md: /var/tmp/reports/vm1.md, html: /var/tmp/reports/vm1.html}
'''
