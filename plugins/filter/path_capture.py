# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the path_capture role (controller side); the logic is in module_utils/_pathtrace.py.

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudops.netdiag.plugins.module_utils import _pathtrace


def _plain(obj):
    """Ansible hands filters its own container/str subclasses: make them plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    return str(obj)


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
