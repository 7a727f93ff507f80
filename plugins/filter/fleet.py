# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the collect role: the fleet summary of collected host documents (controller side).

Documentation of each filter is in the YAML file of the same name beside this one. The code is in
plugins/plugin_utils/_fleet.py, which also runs offline on a collect directory.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _fleet
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._plain import plain as _plain


def netdiag_fleet_summary(docs):
    if isinstance(docs, dict):
        docs = [docs]
    if not isinstance(docs, (list, tuple)) or not all(isinstance(d, dict) and 'host' in d for d in docs):
        raise AnsibleFilterError('netdiag_fleet_summary: expects a list of collect host documents (dicts with "host")')
    return _fleet.summarize(_plain(list(docs)))


def netdiag_fleet_text(summary, limit=10):
    if not isinstance(summary, dict) or 'host_count' not in summary:
        raise AnsibleFilterError('netdiag_fleet_text: expects the result of netdiag_fleet_summary')
    return _fleet.render_text(_plain(summary), limit=int(limit))


class FilterModule(object):
    def filters(self):
        return {
            'netdiag_fleet_summary': netdiag_fleet_summary,
            'netdiag_fleet_text': netdiag_fleet_text,
        }
