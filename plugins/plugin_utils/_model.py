# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The normalised evidence model the rules read (private).

Built once per verdict from the ``evaluate`` inputs (the modules' results, live or saved): the
instance, its hops, the facts of the compute node and of the guest, the ladder, the console log,
the DHCP and DNS results. Rules read attributes of this model instead of digging in the raw inputs,
so a backend (or an offline reader of sosreports) only has to fill the same model.

``has(need)`` tells whether a fact was collected at all (a host that could not be reached, a module
that failed, a probe that was not run), which the engine reports as "not checked" instead of
guessing.
"""

from __future__ import annotations

import datetime

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import (
    _addresses, _first, admin_up, iface_mac, instance_summary, interfaces_by_name)
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._hops import ladder


def parse_time(value):
    """An event time (epoch number, ISO 8601 or ``YYYY-MM-DD HH:MM:SS``) -> naive datetime, or None."""
    if value is None or value == '':
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(float(value))
    try:
        dt = datetime.datetime.fromisoformat(str(value).strip().replace('Z', '+00:00'))
    except ValueError:
        return None
    if dt.tzinfo is not None:
        dt = dt.astimezone().replace(tzinfo=None)
    return dt


# facts of a host, by the name a rule's ``needs`` uses
HOST_FACTS = ('interfaces', 'iptables', 'ebtables', 'dnsmasq', 'domains', 'nova_conf', 'console_log', 'ip_forward')


class Model(object):
    """What the rules see of one instance's evidence."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.cache = {}
        inst = self.inst = instance_summary(inputs.get('instance'))
        self.name = inst['hostname'] or inst['uuid'] or 'instance'
        self.hops = inputs.get('hops') or []
        self.chost = inputs.get('compute_host')
        self.ghost = inputs.get('guest_host')
        self.on = self.chost or 'the compute node'
        hosts = inputs.get('hosts') or {}
        self.cf = (hosts.get(self.chost) or {}) if self.chost else {}
        self.gf = (hosts.get(self.ghost) or {}) if self.ghost else {}
        self.cifs = interfaces_by_name(self.cf.get('interfaces'))
        self.gifs = interfaces_by_name(self.gf.get('interfaces'))
        self.fixed = inst['fixed_ips'][0] if inst['fixed_ips'] else {}
        self.fixed_ip = self.fixed.get('address')
        self.floating_ip = inst['floating_ips'][0] if inst['floating_ips'] else None
        self.hop_by_kind = {}
        for h in self.hops:
            self.hop_by_kind.setdefault(h['kind'], []).append(h)
        self.vhop = self.hop('vnet')
        self.bhop = self.hop('bridge')
        self.ghop = self.hop('guest_nic')
        self.vnet = self.vhop.get('interface')
        self.bridge = self.bhop.get('interface')
        self.ladder = ladder(inputs.get('probes'))
        self.mac = (self.ghop.get('mac') or self.fixed.get('mac') or '').lower()
        self._guest_nic()
        self._console()
        self.fact_errors = [str(e) for e in inputs.get('fact_errors') or [] if e]
        findings = [f for f in (inputs.get('audit') or []) if isinstance(f, dict)]
        self.findings = findings
        self.my_findings = [f for f in findings if (inst['uuid'] and inst['uuid'] in repr(f))
                            or (self.floating_ip and "'%s'" % self.floating_ip in repr(f))]
        self.dns = [d for d in inputs.get('dns') or [] if isinstance(d, dict) and not d.get('skipped')]

    def hop(self, kind):
        return (self.hop_by_kind.get(kind) or [{}])[0]

    def _guest_nic(self):
        """The guest's NIC (by hop name, else by MAC) and whether it holds an IPv4 address."""
        self.gname = self.ghop.get('interface')
        self.gi = None
        self.guest_has_addr = None
        if not self.gifs:
            return
        gi = self.gifs.get(self.gname) if self.gname else None
        if gi is None and self.ghop.get('mac'):
            for n, i in self.gifs.items():
                if iface_mac(i) == self.ghop['mac']:
                    self.gname, gi = n, i
        if gi is not None:
            self.gi = gi
            self.guest_has_addr = bool(_addresses(gi))

    def _console(self):
        clog = self.cf.get('console_log') or {}
        self.clog = clog
        lease_ok = _first(clog, 'lease_obtained', 'dhcp_ok')
        no_lease = _first(clog, 'no_lease', 'dhcp_failed') or _first(clog, 'result') == 'dhcp_no_lease'
        runs = _first(clog, 'dhcp_runs', default=[]) or []
        self.clog_ev = []
        if runs and isinstance(runs[-1], dict):
            self.clog_ev = ['%s: %s' % (e.get('line'), e.get('text')) if isinstance(e, dict) else str(e)
                            for e in runs[-1].get('evidence') or []]
        for k in ('evidence', 'lines', 'dhcp_lines'):
            v = clog.get(k) if isinstance(clog, dict) else None
            if isinstance(v, list) and v and not self.clog_ev:
                self.clog_ev = v
                break
        self.dhcp_symptom = (self.guest_has_addr is False) or bool(no_lease) or (lease_ok is False)
        # the guest's latest DHCP attempt ended at the latest when its console log was last written
        self.guest_dhcp_attempt = parse_time(_first(clog, 'modified', 'mtime')) if self.dhcp_symptom else None
        self.clog_dns = clog.get('name_resolution') or {} if isinstance(clog, dict) else {}
        self.guest_dns_failed = self.clog_dns.get('status') == 'failed'

    # ---------------------------------------------------------------- availability of facts
    def has(self, need):
        """True when the fact ``need`` was collected (``a|b``: either)."""
        if '|' in need:
            return any(self.has(n) for n in need.split('|'))
        where, dummy, what = need.partition('.')
        if where in ('compute', 'guest') and what in HOST_FACTS:
            facts = self.cf if where == 'compute' else self.gf
            return facts.get(what) is not None
        if need == 'instance':
            return bool(self.inst['uuid'] or self.inst['hostname'])
        if need == 'probes':
            return any(v is not None for k, v in self.ladder.items() if k not in ('ladder_segment',))
        if need == 'dns':
            return bool(self.dns)
        if need == 'hop.vnet':
            return bool(self.vnet) or bool(self.vhop.get('mac'))
        if need == 'hop.bridge':
            return bool(self.bridge)
        raise ValueError('unknown fact %r' % need)

    def why_missing(self, need):
        """Why ``need`` is not there, in the operator's words."""
        need = need.split('|')[0]
        where, dummy, what = need.partition('.')
        host = self.chost if where == 'compute' else (self.ghost if where == 'guest' else None)
        offline = self.inputs.get('offline')
        if offline and need in ('probes', 'dns'):
            return 'not checkable offline (%s needs the live hosts)' % ('the ping ladder' if need == 'probes' else 'a DNS lookup')
        if where in ('compute', 'guest') and not host:
            return 'no %s node known for the instance' % ('compute' if where == 'compute' else 'guest')
        errs = [e for e in self.fact_errors if what and what.split('_')[0] in e.lower()]
        if errs:
            return '%s of %s could not be read: %s' % (what, host, errs[0])
        if where in ('compute', 'guest') and offline:
            return '%s of %s not in the %s' % (what, host, 'bundle' if offline.get('kind') == 'bundle' else 'sosreport')
        if where in ('compute', 'guest'):
            return '%s of %s not collected (host unreachable or module failed)' % (what, host)
        if need == 'probes':
            return 'no probe result'
        if need == 'dns':
            return 'no DNS lookup was made'
        return '%s not known' % need

    # ---------------------------------------------------------------- small shared views
    def guest_nic_down(self):
        return self.gi is not None and not admin_up(self.gi)

    def symptoms(self):
        """The probes or the guest show the path broken, or (offline) the operator reports it broken."""
        lad = self.ladder
        return (lad.get('external_ok') is False or lad.get('compute_ok') is False or self.dhcp_symptom
                or bool(self.inputs.get('reported_symptom')))
