# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova-network rules of DHCP: the dnsmasq of the instance's bridge, its hosts file, its log (private).

The dnsmasq log is history: a complete DISCOVER/OFFER/REQUEST/ACK of an earlier boot says nothing
of the guest's latest attempt. The events of the instance's MAC are judged by time against that
attempt (when the console log was last written).
"""

from __future__ import annotations

import datetime

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._dhcpfacts import (
    _dhcp_mac_result, _dnsmasq_processes, _proc_alive, _proc_bridge, _proc_hostsfile_macs, _proc_hostsfile_path, _proc_pidfile)
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _first
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model import parse_time
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, ev_lines, finding, rule

B = 'nova-network'
UNIT = 'tests/unit/plugins/plugin_utils/test_rules.py::'
LAB = 'tests/integration/diagnose/test_diagnose_lab.py::test_fault_names_cause_and_segment'
# an event this much older than the guest's latest attempt cannot belong to it
STALE_AFTER = datetime.timedelta(seconds=2)
_MONTHS = dict((m, i + 1) for i, m in enumerate('Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split()))


def log_time(value, ref):
    """A dnsmasq log stamp (ISO, or syslog's yearless ``Mon DD HH:MM:SS``) -> naive datetime, or None."""
    dt = parse_time(value)
    if dt is not None or not value or ref is None:
        return dt
    parts = str(value).split()
    try:
        hh, mm, ss = (int(x) for x in parts[2].split(':'))
        dt = datetime.datetime(ref.year, _MONTHS[parts[0]], int(parts[1]), hh, mm, ss)
    except (IndexError, KeyError, ValueError):
        return None
    return dt.replace(year=ref.year - 1) if dt > ref + datetime.timedelta(days=1) else dt


def view(m):
    """What every DHCP rule reads, computed once per verdict: the dnsmasq of the bridge and the MAC's log result."""
    if 'dhcp' in m.cache:
        return m.cache['dhcp']
    dm = m.cf.get('dnsmasq')
    procs = [p for p in _dnsmasq_processes(dm) if isinstance(p, dict)]
    mine = [p for p in procs if _proc_bridge(p) == m.bridge]
    live = sorted([p for p in mine if _proc_alive(p)], key=lambda p: 0 if _first(p, 'role') in (None, 'main') else 1)
    v = {'dm': dm, 'procs': procs, 'mine': mine, 'live': live, 'p': live[0] if live else None}
    if live:
        p = live[0]
        pf = _proc_pidfile(p)
        res, events = _dhcp_mac_result(dm, m.mac) if m.mac else (None, [])
        entry = ((dm.get('log') or {}).get('macs') or {}).get(m.mac) if isinstance(dm, dict) and isinstance(dm.get('log'), dict) else None
        v.update(pf=pf, hup=('`kill -HUP $(cat %s)`' % pf) if pf else ('`kill -HUP %s`' % _first(p, 'pid')),
                 hmacs=_proc_hostsfile_macs(p, dm, m.bridge), hpath=_proc_hostsfile_path(p) or 'its hosts file',
                 res=res, res_s=str(res or '').lower(), events=events,
                 last_seen=log_time((entry or {}).get('last_seen') if isinstance(entry, dict) else None, m.guest_dhcp_attempt))
    m.cache['dhcp'] = v
    return v


def stale_success(m, v):
    """True when the MAC's last dnsmasq events are a complete exchange older than the guest's latest failed attempt."""
    if not m.dhcp_symptom or m.guest_dhcp_attempt is None or v.get('last_seen') is None:
        return False
    complete = 'complete' in v['res_s'] or v['res_s'] == 'ack'
    return complete and v['last_seen'] + STALE_AFTER < m.guest_dhcp_attempt


def probe_evidence(m):
    """The active DHCP probe's result: supporting evidence only (nova's dnsmasq is static: a foreign MAC gets no offer)."""
    dp = m.inputs.get('dhcp_probe')
    if not isinstance(dp, dict) or not dp or dp.get('skipped'):
        return []
    offers = _first(dp, 'offers', default=[]) or []
    text = 'DHCPDISCOVER on %s: %s' % (_first(dp, 'interface', default=m.bridge), ', '.join(
        '%s from %s' % (_first(o, 'offered_address', 'yiaddr', 'address'), _first(o, 'server', 'server_id')) for o in offers
        if isinstance(o, dict)) or 'no offer')
    return [ev(_first(dp, 'host', default=m.chost), 'dhcp_probe', text)]


def _with_probe(m, f):
    f['evidence'].extend(probe_evidence(m))
    return f


DHCP_NEEDS = ('compute.dnsmasq', 'hop.bridge')


@rule(B, 'dhcp_server_down', 120, 'compute', ('stack', 'dnsmasq (DHCP server)'),
      title='No dnsmasq serves the instance\'s bridge',
      needs=DHCP_NEEDS,
      detects='No live dnsmasq process serves the bridge (a stale pid file of the state dir names a dead pid), even '
              'while the guest\'s lease still holds.',
      cites='dnsmasq_info (the processes by bridge, the pid files and their status).',
      advice='Start only that dnsmasq again (restarting nova-network re-spawns it); never `killall dnsmasq`.',
      tests=(UNIT + 'test_dhcp_server_down', LAB + '[seed-dnsmasq_killed]'))
def dhcp_server_down(m):
    v = view(m)
    if v['live']:
        return None
    dm, bridge = v['dm'], m.bridge
    pidfiles = [x for x in (_proc_pidfile(p) for p in v['mine']) if x]
    items = [ev(m.chost, 'dnsmasq_info', 'no live dnsmasq serves %s (dnsmasq processes on the host: %s)' % (
        bridge, ', '.join('%s for %s' % (_first(p, 'pid'), _proc_bridge(p)) for p in v['procs']) or 'none'))]
    state_dir_pid = _first(dm, 'pid_files', default=None) if isinstance(dm, dict) else None
    for pf in state_dir_pid if isinstance(state_dir_pid, list) else []:
        if isinstance(pf, dict) and (pf.get('bridge') == bridge or (not pf.get('bridge') and bridge in str(pf.get('path', '')))):
            items.append(ev(m.chost, 'dnsmasq_info', 'pid file %s: pid %s, %s' % (
                pf.get('path'), pf.get('pid'), pf.get('status') or ('alive' if pf.get('alive') else 'not alive'))))
            pidfiles.append(pf.get('path'))
    for p in (dm.get('problems') or []) if isinstance(dm, dict) else []:
        if isinstance(p, dict) and bridge in str(p):
            items.append(ev(m.chost, 'dnsmasq_info', '%s: %s' % (p.get('code'), p.get('message'))))
    pf = pidfiles[0] if pidfiles else None
    return _with_probe(m, finding(items, 'On %s only the dnsmasq of %s is down%s: start just that one again (nova-network re-spawns '
                                         'it for %s on restart; the other tenants\' dnsmasq keep running). Never `killall dnsmasq`.' % (
                                             m.on, bridge, ' (stale pid file %s)' % pf if pf else '', bridge)))


@rule(B, 'dhcp_no_address_available', 130, 'control_plane', ('stack', 'dnsmasq hosts file'),
      title='dnsmasq has no address for the instance',
      needs=DHCP_NEEDS,
      detects='The instance\'s MAC is not in the dhcp-hostsfile of the live dnsmasq of its bridge, or the log answers its '
              'requests with "no address available", DHCPNAK or "ignored".',
      cites='dnsmasq_info (the hosts file, its entry count) and the MAC\'s lines of the dnsmasq log.',
      advice='Put the `<mac>,<hostname>,<ip>` line back (restarting nova-network rewrites the file), then SIGHUP only that dnsmasq.',
      tests=(UNIT + 'test_dhcp_no_address_available', LAB + '[seed-dhcp_hostsfile_missing_mac]'))
def dhcp_no_address_available(m):
    v = view(m)
    if not v['live']:
        return None
    p = v['p']
    if m.mac and v['hmacs'] is not None and m.mac not in v['hmacs']:
        items = [ev(m.chost, 'dnsmasq_info', 'MAC %s of %s is not in the dhcp-hostsfile %s of dnsmasq pid %s (%d entries)' % (
            m.mac, m.name, v['hpath'], _first(p, 'pid'), len(v['hmacs'])))]
        if v['events']:
            items.append(ev(m.chost, 'dnsmasq log', ev_lines(v['events'])))
        return _with_probe(m, finding(items, 'nova-network lost the host entry of %s: add `%s,%s,%s` back to %s (restart nova-network '
                                             'on %s rewrites it), then reload only this dnsmasq: %s on %s.' % (
                                                 m.name, m.mac, m.inst['hostname'] or m.name, m.fixed_ip, v['hpath'], m.on, v['hup'], m.on)))
    rs = v['res_s']
    if 'no_address' in rs or 'no address' in rs or rs in ('discover_only', 'ignored', 'nak'):
        return _with_probe(m, finding([ev(m.chost, 'dnsmasq log', ev_lines(v['events']) or v['res'])],
                                      'dnsmasq has no address for %s: check the fixed IP allocation in the DB and the hosts file %s, '
                                      'then %s on %s.' % (m.mac, v['hpath'], v['hup'], m.on)))
    return None


def _hops_text(m):
    return ' -> '.join(str(h.get('interface')) for h in m.hops if h.get('interface'))


@rule(B, 'dhcp_request_not_seen', 140, 'instance_to_compute', ('segment', 'the DHCP request\'s way to dnsmasq'),
      title='The guest\'s DHCP requests never reach dnsmasq',
      needs=DHCP_NEEDS, when=lambda m: m.dhcp_symptom, explained_by=('dhcp_no_address_available',),
      detects='The guest has no lease, the dnsmasq of its bridge is alive, and its log has no request from the MAC, or '
              'only a complete exchange older than the guest\'s latest failed attempt (judged by time: the last dnsmasq '
              'event of the MAC against when the console log was last written).',
      cites='the dnsmasq log of the MAC (or its absence), the guest\'s console log (its DHCP attempts).',
      advice='Follow the request hop by hop with `tcpdump -i <hop> -n port 67 or port 68`; check ebtables and the tap.',
      tests=(UNIT + 'test_dhcp_request_not_seen', UNIT + 'test_dhcp_old_success_is_not_the_current_state'))
def dhcp_request_not_seen(m):
    v = view(m)
    if not v['live']:
        return None
    rs = v['res_s']
    if rs in ('', 'never_seen', 'not_seen', 'none') or v['res'] is None:
        items = [ev(m.chost, 'dnsmasq log', 'no DHCPDISCOVER from %s in the log of dnsmasq pid %s' % (m.mac, _first(v['p'], 'pid')))]
    elif stale_success(m, v):
        items = [ev(m.chost, 'dnsmasq log', 'the last DHCP exchange of %s ended at %s, before the guest\'s latest attempt (console log '
                                            'written at %s): nothing of it reached dnsmasq\n%s' % (
                                                m.mac, v['last_seen'].isoformat(' '), m.guest_dhcp_attempt.isoformat(' '),
                                                ev_lines(v['events'])))]
    else:
        return None
    if m.clog_ev:
        items.append(ev(m.chost, 'console_log_info', ev_lines(m.clog_ev)))
    return _with_probe(m, finding(items, 'The DHCP request of %s never reached dnsmasq on %s: follow it with `tcpdump -i <hop> -n port 67 '
                                         'or port 68` hop by hop (%s), and look for a filter on the way (`ebtables-save -c`).' % (
                                             m.name, m.on, _hops_text(m))))


@rule(B, 'dhcp_reply_lost', 150, 'instance_to_compute', ('segment', 'the DHCP reply\'s way back'),
      title='dnsmasq answers, the guest never gets the reply',
      needs=DHCP_NEEDS, when=lambda m: m.dhcp_symptom, explained_by=('dhcp_no_address_available', 'dhcp_request_not_seen'),
      detects='The guest has no lease but the dnsmasq log shows the MAC\'s current exchange answered (OFFER, or '
              'REQUEST/ACK) at or after the guest\'s latest attempt.',
      cites='the MAC\'s DISCOVER/OFFER/REQUEST/ACK lines of the dnsmasq log.',
      advice='Capture port 67/68 on the bridge and the tap: the replies are lost on the way back.',
      certainty='likely',
      tests=(UNIT + 'test_dhcp_reply_lost',))
def dhcp_reply_lost(m):
    v = view(m)
    if not v['live']:
        return None
    rs = v['res_s']
    if not ('complete' in rs or 'ack' in rs or rs in ('offer_without_request', 'request_without_ack')) or stale_success(m, v):
        return None
    return _with_probe(m, finding([ev(m.chost, 'dnsmasq log', ev_lines(v['events']) or v['res'])],
                                  'dnsmasq on %s answers %s (DISCOVER/OFFER/REQUEST/ACK) but the instance has no address: the replies '
                                  'are lost on the way back; capture port 67/68 on %s and %s.' % (m.on, m.mac, m.bridge, m.vnet)))
