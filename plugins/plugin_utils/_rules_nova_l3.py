# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nova-network rules of the compute node's network stack: forwarding, iptables filter and NAT, ebtables (private)."""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _first, _truthy, nova_settings
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._netfilter import (
    _has_table, _moved_rules, _rule_text, _same_rule, drop_rules_for, ebtables_drops_for, nat_for_floating)
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, finding, rule

B = 'nova-network'
UNIT = 'tests/unit/plugins/plugin_utils/test_rules.py::'
LAB = 'tests/integration/diagnose/test_diagnose_lab.py::test_fault_names_cause_and_segment'


@rule(B, 'ebtables_drop', 55, 'compute', ('stack', 'ebtables (bridge filter)'),
      title='An ebtables rule on the compute node drops the instance\'s frames',
      needs=('compute.ebtables',), when=lambda m: m.symptoms(),
      detects='An ebtables DROP rule that applies to the instance\'s port (its tap as -i/-o, its MAC, its fixed IP, or no '
              'port restriction at all) and has counted packets, or whose counter moved while the diagnosis watched. '
              'nova-network\'s own DHCP isolation rules (multi_host: DHCP and ARP of the DHCP address dropped across the '
              'bridge\'s uplink) are recognised and never blamed.',
      cites='ebtables_info (the rule with its packet and byte counters, and how much it moved during the diagnosis).',
      advice='Delete the stray rule (`ebtables -t filter -D <chain> <match>`); nova-network re-adds only its own isolation rules.',
      tests=(UNIT + 'test_ebtables_drop', 'tests/integration/diagnose/test_diagnose_dhcp_dns.py::test_dhcp_filtered_by_ebtables'))
def ebtables_drop(m):
    ebt = m.cf.get('ebtables') or {}
    hits = ebtables_drops_for(ebt, m.vnet, m.mac, m.fixed_ip, m.bridge)
    moved = {(r.get('table'), r.get('chain'), r.get('rule')): r.get('packets') for r in m.inputs.get('ebtables_moved') or []
             if isinstance(r, dict)}
    items, deletes = [], []
    for table, chain, r in hits:
        delta = moved.get((table, chain, r.get('rule')))
        if not (r.get('packets') or delta):
            continue
        what = 'DHCP' if r.get('dhcp') else 'frames'
        items.append(ev(m.chost, 'ebtables_info', '%s: %s [%s packets, %s bytes%s] drops %s of %s' % (
            table, r.get('rule'), r.get('packets'), r.get('bytes'), ', +%s during the diagnosis' % delta if delta else '',
            what, m.name)))
        deletes.append('`ebtables -t %s -D %s`' % (table, str(r.get('rule'))[3:]))
    if not items:
        return None
    dhcp = any(r.get('dhcp') for dummy, dummy2, r in hits)
    return finding(items, 'On %s an ebtables rule drops the %s of %s on the bridge %s before %s sees them: delete it with %s '
                          '(nova-network\'s own DHCP isolation rules name the uplink, not the tap, and stay).' % (
                              m.on, 'DHCP requests' if dhcp else 'frames', m.name, m.bridge,
                              'dnsmasq' if dhcp else 'the host', ' and '.join(deletes)),
                   summary='%s: DHCP filtered by ebtables on %s' % (m.name, m.on) if dhcp else None)


@rule(B, 'forwarding_disabled', 80, 'compute', ('stack', 'IP forwarding'),
      title='IPv4 forwarding is off on the compute node',
      needs=('compute.ip_forward',),
      detects='/proc/sys/net/ipv4/ip_forward reads 0 on the compute node (multi_host: the node routes its instances).',
      cites='/proc/sys/net/ipv4/ip_forward.',
      advice='`sysctl -w net.ipv4.ip_forward=1`, and find what turned it off (nova-network sets it on start).',
      tests=(UNIT + 'test_forwarding_disabled', LAB + '[seed-forwarding_disabled]'))
def forwarding_disabled(m):
    if str(m.cf.get('ip_forward')).strip() != '0':
        return None
    return finding([ev(m.chost, '/proc/sys/net/ipv4/ip_forward', '0')],
                   'On %s: `sysctl -w net.ipv4.ip_forward=1` (and find what turned it off: nova-network sets it on start).' % m.on)


def _moved_drops(m):
    out = []
    for host, r in _moved_rules(m.inputs.get('capture'), m.inputs.get('counters')):
        if str(_first(r, 'target', 'jump', default='')).upper() in ('DROP', 'REJECT'):
            out.append((host, r))
    return out


@rule(B, 'firewall_drop', 90, 'compute', ('stack', 'iptables filter rules'),
      title='An iptables rule drops the instance\'s traffic',
      needs=('compute.iptables',),
      detects='A DROP/REJECT rule of the filter table names the instance\'s fixed or floating IP exactly (a /32), or any '
              'DROP/REJECT rule\'s counter moved while the probes ran (on any host of the path). A rule that only exists '
              'is "likely"; one that fired during the probes is confirmed, and so is, offline (no probe), one that names '
              'the instance and counted packets.',
      cites='iptables_info (the rule), and the counters that moved during the ladder and the capture.',
      advice='Remove the stray rule with `iptables -t filter -D <chain> <match>`, or restart nova-network to rebuild its chains.',
      certainty='likely',
      tests=(UNIT + 'test_firewall_drop', LAB + '[seed-forward_drop]',
             'tests/unit/plugins/plugin_utils/test_verdict.py::test_range_drop_rule_that_did_not_fire_is_not_a_cause'))
def firewall_drop(m):
    moved_drops = _moved_drops(m)
    items, deletes, confirmed = [], [], False
    for table, chain, r, specific in drop_rules_for(m.cf.get('iptables'), [a for a in (m.fixed_ip, m.floating_ip) if a]):
        moved_as = [r2 for dummy, r2 in moved_drops if _same_rule(r, r2, chain)]
        if not (specific or moved_as):
            continue
        text = _rule_text(table, chain, r)
        if m.inputs.get('offline') and specific and (r.get('packets') or 0) > 0:
            # offline there is no probe: a DROP naming the instance that counted packets has dropped its traffic
            text += ' (%s packets counted)' % r.get('packets')
            confirmed = True
        if moved_as:
            text += ' (+%s packets during the probes)' % _first(moved_as[0], 'packets_delta', 'delta', 'packets')
            confirmed = True
        items.append(ev(m.chost, 'iptables_info', text))
        raw = str(_first(r, 'rule', 'raw', default='') or '')
        deletes.append('`iptables -t %s -D %s`' % (table or 'filter', raw[3:]) if raw.startswith('-A ')
                       else '`iptables -t %s -D %s <same match>`' % (table or 'filter', chain))
    if items:
        return finding(items, 'On %s, iptables drops the traffic of %s (%s). Nova manages iptables: remove the stray rule%s with %s, '
                              'or restart nova-network there to rebuild its chains; fix the security group if nova put it there.' % (
                                  m.on, m.name, m.fixed_ip, 's' if len(deletes) > 1 else '', ' and '.join(deletes)),
                       confirmed=confirmed)
    if moved_drops:
        host, r = moved_drops[0]
        return finding([ev(host, 'iptables counters', 'moved during the probe: ' + _rule_text(r.get('table', 'filter'), r.get('chain'), r))],
                       'On %s a %s rule fired on the probe: inspect `iptables-save -c` around it and remove the stray rule or fix '
                       'the security group.' % (host, str(_first(r, 'target', 'jump')).upper()))
    return None


@rule(B, 'nat_missing', 100, 'compute', ('stack', 'iptables NAT rules'),
      title='The floating IP\'s DNAT or SNAT rule is missing',
      needs=('compute.iptables',), when=lambda m: bool(m.floating_ip and m.fixed_ip),
      detects='multi_host: the nat table of the compute node lacks the DNAT floating -> fixed '
              '(nova-network-PREROUTING) or the SNAT fixed -> floating (nova-network-float-snat).',
      cites='iptables_info (the nat table: what is missing, what is present).',
      advice='Restart nova-network on the node (it re-adds the NAT of every associated floating IP), or disassociate '
             'and associate the floating IP again.',
      tests=(UNIT + 'test_nat_missing', LAB + '[seed-nat_missing]'))
def nat_missing(m):
    ipt = m.cf.get('iptables')
    if not _truthy(_first(nova_settings(m.cf.get('nova_conf')), 'multi_host', default=m.fixed.get('multi_host') or True)):
        return None
    dnat, snat = nat_for_floating(ipt, m.floating_ip, m.fixed_ip)
    if (dnat and snat) or not _has_table(ipt, 'nat'):
        return None
    missing = [x for x, ok in (('DNAT %s -> %s' % (m.floating_ip, m.fixed_ip), dnat), ('SNAT %s -> %s' % (m.fixed_ip, m.floating_ip), snat))
               if not ok]
    items = [ev(m.chost, 'iptables_info', 'nat table has no %s (nova-network-PREROUTING / nova-network-float-snat)' % ' and no '.join(missing))]
    items += [ev(m.chost, 'iptables_info', 'present: ' + _rule_text(t, c, r)) for t, c, r in dnat + snat]
    return finding(items, 'On %s restore the floating IP NAT: restart nova-network there (it re-adds DNAT/SNAT for every '
                          'associated floating IP), or disassociate and associate %s again (`nova floating-ip-disassociate` / '
                          '`nova floating-ip-associate %s %s`).' % (m.on, m.floating_ip, m.inst['uuid'] or m.name, m.floating_ip))
