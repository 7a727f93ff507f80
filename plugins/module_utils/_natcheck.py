# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data plane against the nova DB: floating IP associations versus the host's DNAT/SNAT rules (private).

nova-network puts, for every floating IP F associated with fixed IP X on host H (``floating_ips.host``),
these rules into H's ``nat`` table::

    -A nova-network-OUTPUT -d F/32 -j DNAT --to-destination X
    -A nova-network-PREROUTING -d F/32 -j DNAT --to-destination X
    -A nova-network-float-snat -s X/32 -j SNAT --to-source F        (some releases add -d X/32 too)

:func:`compare_nat` is pure. It takes the associations (from the DB) and the ``nat`` table rules as
plain dicts with the keys ``chain``, ``target``, ``source``, ``destination``, ``to_destination``,
``to_source`` and optionally ``protocol``, ``dport`` (addresses as iptables-save prints them, ``/32``
optional). Rules with a protocol, a port or a ``--to-destination`` with a port (the metadata DNAT)
are port forwards, not floating IPs, and are ignored. :func:`nat_rules_from_iptables_save` produces that shape from ``iptables-save`` text with
the collection's iptables parser (``_iptables.parse_save``).
"""

from __future__ import annotations

import shlex

try:
    from ansible_collections.cloudops.netdiag.plugins.module_utils._iptables import IptablesError, parse_save
except ImportError:  # pragma: no cover - the facts parser may be absent in a partial install
    parse_save = None

    class IptablesError(Exception):
        pass


class NatInputError(ValueError):
    """The NAT rules given are not usable (not iptables-save output, no nat table)."""


def _addr(value):
    """``203.0.113.30/32`` -> ``203.0.113.30``; ``10.0.2.24:80`` -> ``10.0.2.24``; None for networks."""
    if not value:
        return None
    value = str(value).strip()
    if value.startswith('!'):
        return None
    if '/' in value:
        value, prefix = value.split('/', 1)
        if prefix not in ('32', '255.255.255.255', '128'):
            return None
    if value.count(':') == 1 and '.' in value:  # IPv4 with a port
        value = value.split(':', 1)[0]
    if '-' in value:  # a range such as 10.0.0.1-10.0.0.9
        return None
    return value


_OPTION_KEYS = {'-s': 'source', '--source': 'source', '-d': 'destination', '--destination': 'destination',
                '-p': 'protocol', '--protocol': 'protocol', '--dport': 'dport', '--destination-port': 'dport',
                '-j': 'target', '--jump': 'target', '--to-destination': 'to_destination', '--to-source': 'to_source'}


def _has_port(value):
    return bool(value) and str(value).count(':') == 1 and '.' in str(value)


def _simple_rules(text):
    """A minimal reading of the nat table's -A lines (used only when _iptables is not available)."""
    rules = []
    table = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('*'):
            table = line[1:]
            continue
        if table != 'nat' or not line.startswith('-A '):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        rule = {'chain': words[1]}
        i, negated = 2, False
        while i < len(words):
            word = words[i]
            if word == '!':
                negated = True
                i += 1
                continue
            value = words[i + 1] if i + 1 < len(words) and not words[i + 1].startswith('-') else None
            key = _OPTION_KEYS.get(word)
            if key and value is not None:
                rule[key] = ('!' + value) if negated else value
            negated = False
            i += 2 if value is not None else 1
        rules.append(rule)
    return rules


def _flatten(parsed):
    """Rules of the nat table of ``_iptables.parse_save()``'s result, in compare_nat's shape."""
    nat = parsed.get('tables', {}).get('nat')
    if nat is None:
        return None
    rules = []
    for name, chain in nat.get('chains', {}).items():
        for r in chain.get('rules', []):
            negated = r.get('negated') or ()
            args = r.get('target_args') or {}
            flat = {'chain': name, 'target': r.get('target')}
            for key in ('protocol', 'dport'):
                if r.get(key) is not None:
                    flat[key] = r[key]
            for key in ('source', 'destination'):
                if r.get(key) is not None:
                    flat[key] = ('!' + r[key]) if key in negated else r[key]
            if args.get('to-destination'):
                flat['to_destination'] = args['to-destination']
            if args.get('to-source'):
                flat['to_source'] = args['to-source']
            rules.append(flat)
    return rules


def nat_rules_from_iptables_save(text):
    """The ``nat`` table rules of ``iptables-save`` output as plain dicts (see the module docstring).

    Raises NatInputError when the text is not iptables-save output or has no ``nat`` table.
    """
    if not isinstance(text, str) or not text.strip():
        raise NatInputError('iptables_save is empty')
    if parse_save is not None:
        try:
            rules = _flatten(parse_save(text))
        except IptablesError as exc:
            raise NatInputError('iptables_save is not iptables-save output: %s' % exc)
    else:
        rules = _simple_rules(text) if '*nat' in text.split() else None
    if rules is None:
        raise NatInputError('iptables_save has no nat table (take it with iptables-save, or iptables-save -t nat)')
    return rules


def nat_rules_from_iptables_facts(parsed):
    """The ``nat`` table rules of an ``iptables_info`` result (its ``iptables`` key), as plain dicts."""
    if not isinstance(parsed, dict) or not isinstance(parsed.get('tables'), dict):
        raise NatInputError('iptables is not the iptables key of an iptables_info result (no tables)')
    rules = _flatten(parsed)
    if rules is None:
        raise NatInputError('iptables has no nat table (run iptables_info without restricting the tables, or with nat)')
    return rules


def compare_nat(associations, rules, host):
    """Compare the DB's floating IP associations for ``host`` with the NAT rules found on it.

    ``associations``: every live associated floating IP (any host) as dicts with ``address``,
    ``fixed_address``, ``host``. Returns ``{host, findings, ok, dnat, snat}``; finding codes:
    ``association_without_dnat``, ``association_without_snat``, ``nat_target_mismatch``,
    ``nat_without_association`` (each with ``object`` = the floating IP and the ``rules`` seen).
    """
    dnat, snat = {}, {}
    for r in rules:
        target = (r.get('target') or '').upper()
        if r.get('protocol') or r.get('dport') or _has_port(r.get('to_destination')):
            continue  # port forwards such as the metadata DNAT (169.254.169.254:80), not floating IPs
        if target == 'DNAT':
            floating = _addr(r.get('destination'))
            fixed = _addr(r.get('to_destination'))
            if floating and fixed:
                dnat.setdefault(floating, []).append(dict(r, fixed=fixed))
        elif target == 'SNAT':
            fixed = _addr(r.get('source'))
            floating = _addr(r.get('to_source'))
            if floating and fixed:
                snat.setdefault(floating, []).append(dict(r, fixed=fixed))
    here = dict((a['address'], a) for a in associations if a.get('host') == host and a.get('fixed_address'))
    elsewhere = dict((a['address'], a) for a in associations if a.get('host') != host and a.get('fixed_address'))
    findings, ok = [], []
    for address in sorted(here):
        fixed = here[address]['fixed_address']
        d = dnat.get(address, [])
        s = snat.get(address, [])
        bad = False
        if not d:
            findings.append({'code': 'association_without_dnat', 'severity': 'error', 'object': address,
                             'message': 'the DB associates floating IP %s with fixed IP %s on host %s, but %s has no DNAT rule for it'
                             % (address, fixed, host, host), 'rules': []})
            bad = True
        elif any(r['fixed'] != fixed for r in d):
            findings.append({'code': 'nat_target_mismatch', 'severity': 'error', 'object': address,
                             'message': 'DNAT on %s sends floating IP %s to %s, but the DB associates it with fixed IP %s'
                             % (host, address, ', '.join(sorted(set(r['fixed'] for r in d))), fixed), 'rules': d})
            bad = True
        if not s:
            findings.append({'code': 'association_without_snat', 'severity': 'error', 'object': address,
                             'message': 'the DB associates floating IP %s with fixed IP %s on host %s, but %s has no SNAT rule for it'
                             % (address, fixed, host, host), 'rules': []})
            bad = True
        elif any(r['fixed'] != fixed for r in s):
            findings.append({'code': 'nat_target_mismatch', 'severity': 'error', 'object': address,
                             'message': 'SNAT on %s maps %s to floating IP %s, but the DB associates it with fixed IP %s'
                             % (host, ', '.join(sorted(set(r['fixed'] for r in s))), address, fixed), 'rules': s})
            bad = True
        if not bad:
            ok.append({'address': address, 'fixed_address': fixed})
    for address in sorted(set(dnat) | set(snat)):
        if address in here:
            continue
        other = elsewhere.get(address)
        why = ('the DB associates it with host %s' % other['host']) if other else 'the DB associates it with no fixed IP'
        findings.append({'code': 'nat_without_association', 'severity': 'error', 'object': address,
                         'message': 'host %s has NAT rules for floating IP %s but %s' % (host, address, why),
                         'rules': dnat.get(address, []) + snat.get(address, [])})
    return {'host': host, 'findings': findings, 'ok': ok,
            'dnat': dict((k, sorted(set(r['fixed'] for r in v))) for k, v in dnat.items()),
            'snat': dict((k, sorted(set(r['fixed'] for r in v))) for k, v in snat.items())}


def associations_from_tables(data):
    """Live associated floating IPs from :func:`_novadb.load_tables` data, for compare_nat."""
    fixed = dict((f['id'], f) for f in data.get('fixed_ips', []))
    out = []
    for fl in data.get('floating_ips', []):
        if fl.get('deleted') != 0 or fl.get('fixed_ip_id') is None:
            continue
        fx = fixed.get(fl['fixed_ip_id'])
        out.append({'address': fl['address'], 'fixed_address': fx['address'] if fx else None, 'host': fl.get('host'),
                    'fixed_ip_id': fl['fixed_ip_id']})
    return out
