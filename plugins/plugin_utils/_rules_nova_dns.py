# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova-network rules of name resolution and of the nova DB (private).

Forward lookups (A/AAAA of the names that must resolve, else of a name under the reserved
``.invalid`` TLD) and reverse lookups (PTR) go through the instance's resolver; when one fails, the
resolver's upstream is also asked directly from the compute node (through dnsmasq both a dead
upstream and a dead reverse zone end in timeouts; asked directly, a live upstream answers anything).
Forward lookups failing, or the upstream silent: the resolver or its upstream is down
(``dns_failure``); only PTR timing out while the upstream answers: reverse lookups are slow
(``dns_reverse_slow``).
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._dhcpfacts import _dnsmasq_upstreams, _live_dnsmasq, _proc_pidfile
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import DELETED_VM_STATES, _first
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._hops import capture_hops
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, finding, rule

B = 'nova-network'
UNIT = 'tests/unit/plugins/plugin_utils/test_rules.py::'
FAILED = ('timeout', 'servfail', 'refused', 'error', 'unreachable')
# the upstream answered (even "no such name", even "refused"): it is alive
ANSWERED = ('ok', 'slow', 'nxdomain', 'refused')


def _qtype(d):
    return str(_first(d, 'query_type', 'qtype', 'type', default='A')).upper()


def _status(d):
    return str(_first(d, 'status', 'result', default='')).lower()


def liveness_probe(d):
    """A forward lookup of a reserved ``.invalid`` name: only asks whether the upstream answers at all."""
    return str(_first(d, 'query', 'name', default='')).rstrip('.').endswith('.invalid')


def _text(d):
    return '%s %s via %s: %s%s' % (_qtype(d), _first(d, 'query', 'name', default='?'), _first(d, 'server', default='?'), _status(d),
                                   ' in %s ms' % d['latency_ms'] if d.get('latency_ms') is not None else '')


def upstream_alive(m):
    """Asked directly from the compute node, did the resolver's upstream answer (True), stay silent (False), or
    was it not asked (None)? Any answer counts, even NXDOMAIN or REFUSED."""
    asked = [d for d in m.inputs.get('dns_upstream') or [] if isinstance(d, dict) and not d.get('skipped')]
    if not asked:
        return None
    return any(_status(d) in ANSWERED for d in asked)


def forward_failed(m, alive=None):
    """The forward lookups (A/AAAA) through the resolver that failed. A failed liveness probe does not count
    when the upstream answered directly: dnsmasq does not pass a REFUSED on, the client just waits."""
    return [d for d in m.dns if _qtype(d) in ('A', 'AAAA') and _status(d) in FAILED and not (liveness_probe(d) and alive)]


def _upstreams(m, proc):
    ups = _dnsmasq_upstreams(proc) or [str(x) for x in [_first(m.cf.get('nova_conf') or {}, 'dns_server')] if x]
    if not ups:
        default = ((m.cf.get('nova_conf') or {}).get('other') or {}).get('DEFAULT') or {}
        ups = [str(default['dns_server'])] if default.get('dns_server') else []
    return ups


@rule('nova-network', 'dns_failure', 160, 'compute', ('stack', 'DNS resolver (dnsmasq)'),
      title='The instance\'s DNS resolver, or its upstream, does not answer',
      needs=('dns',), when=lambda m: bool(m.dns) or m.guest_dns_failed,
      detects='Forward lookups (A/AAAA) through the instance\'s DNS server (the dnsmasq of its bridge) time out or fail; '
              'a PTR that times out counts too when the guest\'s console log shows failed lookups or the upstream, asked '
              'directly from the compute node, does not answer. With the dnsmasq alive and the upstream silent, the fault '
              'is the upstream server (segment beyond_gateway).',
      cites='dns_probe (query, server, status, latency), dnsmasq_info (alive, upstream servers), the console log\'s failed '
            'lookups, the capture of the failing lookup (where the query and the answer were last seen).',
      advice='Upstream dead: fix or replace the upstream server (reload dnsmasq with SIGHUP after changing its servers); '
             'resolver dead: restart only that dnsmasq, never `killall dnsmasq`.',
      tests=(UNIT + 'test_dns_failure', UNIT + 'test_upstream_dead_is_not_reverse_slow',
             'tests/integration/diagnose/test_diagnose_lab.py::test_fault_names_cause_and_segment[seed-dns_broken]',
             'tests/integration/diagnose/test_diagnose_dhcp_dns.py::test_upstream_dead_without_console_failures'))
def dns_failure(m):
    alive = upstream_alive(m)
    failed = forward_failed(m, alive)
    ptr = [d for d in m.dns if _qtype(d) == 'PTR' and _status(d) in FAILED]
    if not failed and not (ptr and (m.guest_dns_failed or alive is False)):
        return None
    d = (failed or ptr)[0]
    where = _first(d, 'from_host', 'host', default=m.ghost or m.chost)
    items = [ev(where, 'dns_probe', _text(x)) for x in (failed + ptr)[:4]]
    items += [ev(_first(x, 'from_host', default=m.chost), 'dns_probe (upstream, directly)', _text(x))
              for x in m.inputs.get('dns_upstream') or [] if isinstance(x, dict)][:2]
    live = _live_dnsmasq(m.cf.get('dnsmasq'), m.bridge)
    if live and (alive is False or (alive is None and _status(d) in ('timeout', 'servfail'))):
        ups = _upstreams(m, live[0])
        items.append(ev(m.chost, 'dnsmasq_info', 'dnsmasq pid %s serves %s and is alive; upstream: %s' % (
            _first(live[0], 'pid'), m.bridge, ', '.join(ups) or 'the host\'s resolv.conf')))
        f = finding(items, 'dnsmasq of %s on %s is alive but its upstream DNS server (%s) does not answer: fix or replace the upstream '
                           'server; dnsmasq needs no restart (reload with `kill -HUP $(cat %s)` after changing its servers).' % (
                               m.bridge, m.on, ', '.join(ups) or 'see resolv.conf on %s' % m.on, _proc_pidfile(live[0]) or '<its pid file>'),
                    segment='beyond_gateway')
    else:
        f = finding(items, 'The instance\'s DNS server %s (dnsmasq of %s on %s) does not answer%s: check that this dnsmasq runs and '
                           'listens on %s, then restart only it (never `killall dnsmasq`).' % (
                               _first(d, 'server'), m.bridge, m.on, ' although its upstream does' if alive else '', _first(d, 'server')))
    if m.guest_dns_failed:
        f['evidence'].append(ev(m.chost, 'console_log_info', '\n'.join(
            '%s: %s' % (e.get('line'), e.get('text')) for e in (m.clog_dns.get('evidence') or [])[-4:] if isinstance(e, dict))))
    f['evidence'].extend(capture_evidence(m))
    return f


def _seen(flag):
    return 'seen' if flag else 'not seen'


def capture_evidence(m):
    """Where the failing lookup was last seen (the DNS capture of the triage)."""
    dcap = m.inputs.get('dns_capture')
    if not isinstance(dcap, dict) or not dcap or dcap.get('error'):
        return []
    seen = ['%s %s:%s query %s, answer %s' % (c['hop'] or '', c['host'], c['interface'], _seen(c['request_seen']), _seen(c['reply_seen']))
            for c in capture_hops(dcap)]
    if not seen:
        return []
    return [ev('controller', 'path_capture udp/53', '\n'.join(seen + ([str(dcap['verdict'])] if dcap.get('verdict') else [])))]


@rule('nova-network', 'dns_reverse_slow', 170, 'compute', ('stack', 'DNS reverse lookups'),
      title='Reverse lookups are slow (ssh logins wait for them)',
      needs=('dns',), explained_by=('dns_failure',),
      detects='A PTR lookup through the instance\'s DNS server is slower than the threshold or times out, while forward '
              'lookups are answered and the upstream, asked directly, answers too.',
      cites='dns_probe (the PTR and the forward lookups, with latencies; the upstream asked directly).',
      advice='Give dnsmasq the PTR records of the fixed range, or `UseDNS no` in the instance\'s sshd_config.',
      tests=(UNIT + 'test_dns_reverse_slow', 'tests/integration/diagnose/test_diagnose_dhcp_dns.py::test_reverse_slow_when_forward_works'))
def dns_reverse_slow(m):
    slow = [d for d in m.dns if _qtype(d) == 'PTR' and _status(d) in ('slow', 'timeout')]
    if not slow:
        return None
    d = slow[0]
    items = [ev(_first(d, 'from_host', 'host', default=m.ghost or m.chost), 'dns_probe', _text(d))]
    items += [ev(_first(x, 'from_host', 'host', default=m.ghost or m.chost), 'dns_probe', _text(x) + ' (forward lookups work)')
              for x in m.dns if _qtype(x) in ('A', 'AAAA') and _status(x) in ANSWERED and not liveness_probe(x)][:2]
    items += [ev(_first(x, 'from_host', default=m.chost), 'dns_probe (upstream, directly)', _text(x) + ' (the upstream answers)')
              for x in m.inputs.get('dns_upstream') or [] if isinstance(x, dict) and _status(x) in ANSWERED][:1]
    return finding(items, 'Reverse lookups through %s are slow: ssh logins wait for them. Give dnsmasq the PTR records of the fixed '
                          'range (or `UseDNS no` in sshd_config of the instance).' % _first(d, 'server'))


STALE_CODES = ('floating_ip_stale', 'stale_floating_ip', 'floating_ip_on_deleted_instance', 'floating_to_deleted_instance')


@rule('nova-network', 'floating_ip_stale', 0, 'control_plane', ('db', 'nova DB floating_ips'),
      title='A floating IP is still associated with a terminated instance',
      needs=('instance',),
      detects='The instance is deleted (or in a deleted vm_state) in the nova DB while a floating IP is still associated '
              'with its fixed IP; or the DB audit names the instance\'s floating IP as stale.',
      cites='nova_network_info (the instance row, its fixed and floating IPs, the audit finding).',
      advice='`ansible-playbook playbooks/repair_floating_ip.yml -e floating_ip=<ip> --check --diff`, then `-e confirm=true`.',
      tests=(UNIT + 'test_floating_ip_stale',
             'tests/integration/diagnose/test_diagnose_lab.py::test_vlan_terminated_instance_is_floating_ip_stale'))
def floating_ip_stale(m):
    inst = m.inst
    if (inst['deleted'] or str(inst['vm_state'] or '').lower() in DELETED_VM_STATES) and inst['floating_ips']:
        fip = inst['floating_ips'][0]
        items = [ev('nova-db', 'nova_network_info', 'instance %s (uuid %s) is %s (deleted=%s) but floating IP %s is still associated '
                                                    'with its fixed IP %s' % (m.name, inst['uuid'], inst['vm_state'], inst['deleted'],
                                                                              ', '.join(inst['floating_ips']), m.fixed_ip))]
        items += [ev('nova-db', 'nova_network_info audit', _first(f, 'message', 'code', default=f)) for f in m.my_findings]
        return finding(items, 'Release the floating IP %s in the DB, check mode first: `ansible-playbook playbooks/repair_floating_ip.yml '
                              '-e floating_ip=%s --check --diff`, then `ansible-playbook playbooks/repair_floating_ip.yml -e floating_ip=%s '
                              '-e confirm=true`.' % (fip, fip, fip))
    for f in m.my_findings:
        if str(_first(f, 'code', 'kind', default='')) in STALE_CODES:
            return finding([ev('nova-db', 'nova_network_info audit', _first(f, 'message', default=f))],
                           'Release the stale floating IP with `ansible-playbook playbooks/repair_floating_ip.yml --check --diff` '
                           '(check mode first), then again with `-e confirm=true`.')
    return None
