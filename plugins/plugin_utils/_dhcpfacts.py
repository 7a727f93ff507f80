# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of dnsmasq facts for the rules (private): the processes serving a bridge, their hosts
files and upstreams, the per-MAC DHCP result of the log.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _first


def _dnsmasq_processes(dnsmasq):
    d = dnsmasq or {}
    if isinstance(d, list):
        return d
    return _first(d, 'processes', 'instances', default=[]) or []


def _proc_bridge(p):
    return _first(p, 'bridge', 'serves_bridge', 'interface')


def _proc_alive(p):
    """dnsmasq_info lists live processes; a dead one only shows as a stale pid file."""
    v = _first(p, 'alive', 'running')
    if isinstance(v, bool):
        return v
    pf = _first(p, 'pid_file', 'pidfile', default={})
    if isinstance(pf, dict):
        v = _first(pf, 'alive', 'live', 'running')
        if isinstance(v, bool):
            return v
    return _first(p, 'pid') is not None


def _proc_pidfile(p):
    pf = _first(p, 'pid_file', 'pidfile')
    if isinstance(pf, dict):
        return _first(pf, 'path', 'file')
    if pf:
        return pf
    opts = _first(p, 'options', 'args', default={})
    if isinstance(opts, dict):
        return _first(opts, 'pid-file', 'pid_file')
    return None


def _proc_hostsfile_path(p):
    hf = _first(p, 'hostsfile')
    if isinstance(hf, dict):
        return _first(hf, 'path')
    opts = _first(p, 'options', 'args', default={}) or {}
    return _first(opts, 'hostsfile', 'dhcp-hostsfile', 'dhcp_hostsfile') if isinstance(opts, dict) else None


def _proc_hostsfile_macs(p, dnsmasq=None, bridge=None):
    """MACs of the hosts file of process ``p`` (its own entries or dnsmasq_info's ``hosts_files``)."""
    hf = _first(p, 'hostsfile', 'hosts_file', 'dhcp_hostsfile')
    entries = None
    if isinstance(hf, dict):
        entries = _first(hf, 'entries')
    if entries is None:
        entries = _first(p, 'hosts', 'hostsfile_entries', 'host_entries')
    if entries is None and isinstance(dnsmasq, dict):
        path = _proc_hostsfile_path(p)
        for f in _first(dnsmasq, 'hosts_files', default=[]) or []:
            if isinstance(f, dict) and ((path and f.get('path') == path) or (not path and bridge and f.get('bridge') == bridge)):
                if f.get('error') or f.get('readable') is False:
                    continue
                entries = _first(f, 'entries', default=[]) or []
                break
    if entries is None:
        return None
    macs = set()
    for e in entries:
        if isinstance(e, dict):
            ms = _first(e, 'macs', default=None) or [_first(e, 'mac', 'hwaddr')]
        else:
            ms = [str(e).split(',', maxsplit=1)[0]]
        for m in ms:
            if m:
                macs.add(str(m).lower())
    return macs


def _live_dnsmasq(dnsmasq, bridge):
    procs = [p for p in _dnsmasq_processes(dnsmasq) if isinstance(p, dict) and _proc_bridge(p) == bridge and _proc_alive(p)]
    procs.sort(key=lambda p: 0 if _first(p, 'role') in (None, 'main') else 1)
    return procs


def _dnsmasq_upstreams(p):
    args = _first(p, 'args', 'options', default={}) or {}
    ups = _first(args, 'servers', 'server', default=[]) if isinstance(args, dict) else []
    if isinstance(ups, str):
        ups = [ups]
    return [str(u) for u in ups or []]


def _dhcp_mac_result(dnsmasq, mac):
    """Return (result, events) for ``mac`` from the per-MAC log analysis of dnsmasq_info."""
    d = dnsmasq or {}
    per = {}
    if isinstance(d, dict):
        log = d.get('log') if isinstance(d.get('log'), dict) else {}
        per = _first(log, 'macs', default=None) or _first(d, 'dhcp_by_mac', 'macs', 'per_mac', 'dhcp', default={})
    entry = None
    if isinstance(per, dict):
        entry = per.get(mac) or per.get(str(mac).lower())
        if entry is None:
            for k, v in per.items():
                if str(k).lower() == mac:
                    entry = v
    elif isinstance(per, list):
        for v in per:
            if isinstance(v, dict) and str(v.get('mac', '')).lower() == mac:
                entry = v
    if entry is None:
        return None, []
    if isinstance(entry, str):
        return entry, []
    return _first(entry, 'result', 'status', 'state'), _first(entry, 'evidence', 'events', 'lines', default=[]) or []


def _ev_lines(events, limit=4):
    out = []
    for e in events[-limit:]:
        if isinstance(e, dict):
            out.append(str(_first(e, 'line', 'raw', 'message', default=e)))
        else:
            out.append(str(e))
    return '\n'.join(out)
