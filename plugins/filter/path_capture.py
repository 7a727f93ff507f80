# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the path_capture role (controller side); the logic is in module_utils/_pathtrace.py.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudops.netdiag.plugins.module_utils import _pathtrace
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._plain import plain as _plain


def path_capture_groups(hops):
    try:
        return _pathtrace.capture_groups(_plain(hops or []))
    except ValueError as exc:
        raise AnsibleFilterError('path_capture_groups: %s' % exc)


def path_capture_bpf(probe):
    try:
        return _pathtrace.bpf_filter(_plain(probe or {}))
    except ValueError as exc:
        raise AnsibleFilterError('path_capture_bpf: %s' % exc)


def path_capture_report(capture_results, hops, probe, probe_result=None, moved=None):
    try:
        return _pathtrace.report(_plain(capture_results), _plain(hops), _plain(probe), _plain(probe_result), _plain(moved))
    except ValueError as exc:
        raise AnsibleFilterError('path_capture_report: %s' % exc)


class FilterModule(object):
    """path_capture filters."""

    def filters(self):
        return {
            'path_capture_groups': path_capture_groups,
            'path_capture_bpf': path_capture_bpf,
            'path_capture_report': path_capture_report,
        }
