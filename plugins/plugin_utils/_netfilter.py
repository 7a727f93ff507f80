# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readers of iptables facts for the rules (private): walk any nesting of ``iptables_info.iptables``,
the DROPs and NAT of one address, the rules whose counters moved during the probes.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _first


def _walk_rules(obj, table=None, chain=None):
    """Yield (table, chain, rule) from any nesting of ``iptables_info.iptables``."""
    if isinstance(obj, list):
        for x in obj:
            if isinstance(x, dict) and any(k in x for k in ('target', 'jump', 'rule', 'raw')) and 'rules' not in x:
                yield table, chain, x
            else:
                yield from _walk_rules(x, table, chain)
    elif isinstance(obj, dict):
        if 'rules' in obj:
            ch = obj.get('name', chain)
            tb = obj.get('table', table)
            for r in obj.get('rules') or []:
                if isinstance(r, dict):
                    yield r.get('table', tb), r.get('chain', ch), r
        for k, v in obj.items():
            if k == 'rules' or not isinstance(v, (list, dict)):
                continue
            if k in ('tables',):
                yield from _walk_rules(v, table, chain)
            elif k in ('chains',):
                yield from _walk_rules(v, table, chain)
            elif table is None and k in ('filter', 'nat', 'mangle', 'raw', 'security'):
                yield from _walk_rules(v, k, chain)
            elif table is not None and chain is None and isinstance(v, dict):
                yield from _walk_rules(v, table, k)
            elif isinstance(v, list) and k not in ('moved', 'problems', 'nova_chains'):
                yield from _walk_rules(v, table, chain)


def _rule_text(table, chain, r):
    raw = _first(r, 'raw', 'rule', 'line', 'text')
    if raw:
        return '%s: %s' % (table, raw) if table else str(raw)
    parts = ['-A %s' % chain]
    for key, opt in (('source', '-s'), ('destination', '-d'), ('in_interface', '-i'), ('out_interface', '-o'),
                     ('protocol', '-p')):
        v = r.get(key)
        if v:
            parts.append('%s %s' % (opt, v))
    tgt = _first(r, 'target', 'jump')
    if tgt:
        parts.append('-j %s' % tgt)
    for key in ('to_destination', 'to_source'):
        v = r.get(key)
        if v:
            parts.append('--%s %s' % (key.replace('_', '-'), v))
    return '%s: %s' % (table or '?', ' '.join(parts))


def _target_args(r):
    args = _first(r, 'target_args', 'target_options', default={})
    out = {}
    if isinstance(args, dict):
        out.update({str(k).lstrip('-').replace('-', '_'): v for k, v in args.items()})
    elif isinstance(args, (list, str)):
        toks = args.split() if isinstance(args, str) else [str(a) for a in args]
        for i, t in enumerate(toks):
            if t.startswith('--') and i + 1 < len(toks):
                out[t[2:].replace('-', '_')] = toks[i + 1]
    for k in ('to_destination', 'to_source', 'to'):
        if r.get(k):
            out[k] = r[k]
    return out


def _net_contains(spec, ip):
    if not spec or not ip:
        return False
    spec = str(spec)
    neg = spec.startswith('!')
    spec = spec.lstrip('!').strip()
    try:
        hit = ipaddress.ip_address(ip) in ipaddress.ip_network(spec, strict=False)
    except ValueError:
        return False
    return hit and not neg


def _rule_addr(r, which):
    key = 'source' if which == 'src' else 'destination'
    v = _first(r, key, 'src' if which == 'src' else 'dst', 's' if which == 'src' else 'd')
    if v and key in (r.get('negated') or []):
        return '!' + str(v).lstrip('!')
    return v


def _rule_packets(r):
    c = _first(r, 'packets', 'pkts', default=None)
    if c is None:
        cnt = _first(r, 'counters', default={})
        if isinstance(cnt, dict):
            c = cnt.get('packets')
        elif isinstance(cnt, list) and cnt:
            c = cnt[0]
    try:
        return int(c)
    except (TypeError, ValueError):
        return None


def nat_for_floating(iptables, floating_ip, fixed_ip):
    """Return (dnat_rules, snat_rules) that map floating_ip <-> fixed_ip."""
    dnat, snat = [], []
    for table, chain, r in _walk_rules(iptables):
        if table not in (None, 'nat'):
            continue
        tgt = str(_first(r, 'target', 'jump', default='')).upper()
        args = _target_args(r)
        if tgt == 'DNAT' and _net_contains(_rule_addr(r, 'dst'), floating_ip):
            to = str(_first(args, 'to_destination', 'to', default=''))
            if not fixed_ip or not to or to.split(':', maxsplit=1)[0] == fixed_ip:
                dnat.append((table, chain, r))
        elif tgt == 'SNAT' and _net_contains(_rule_addr(r, 'src'), fixed_ip):
            to = str(_first(args, 'to_source', 'to', default=''))
            if not floating_ip or to.split(':', maxsplit=1)[0] == floating_ip:
                snat.append((table, chain, r))
    return dnat, snat


def drop_rules_for(iptables, addresses):
    """DROP/REJECT rules (filter table) that name one of ``addresses`` as source or destination."""
    out = []
    for table, chain, r in _walk_rules(iptables):
        if table not in (None, 'filter'):
            continue
        tgt = str(_first(r, 'target', 'jump', default='')).upper()
        if tgt not in ('DROP', 'REJECT'):
            continue
        for a in addresses:
            if a and (_net_contains(_rule_addr(r, 'src'), a) or _net_contains(_rule_addr(r, 'dst'), a)):
                src, dst = _rule_addr(r, 'src'), _rule_addr(r, 'dst')
                # a rule for a whole range is not "for this instance" unless it is a /32-like match
                specific = any(s and '/' not in str(s).lstrip('!') or str(s).endswith('/32') for s in (src, dst) if s)
                out.append((table, chain, r, specific))
                break
    return out


def _has_table(iptables, name):
    """True when the iptables facts include table ``name`` (even with no rule in it)."""
    tables = _first(iptables, 'tables', default=iptables) if isinstance(iptables, dict) else iptables
    if isinstance(tables, dict):
        return name in tables
    if isinstance(tables, list):
        return any(isinstance(t, dict) and _first(t, 'name', 'table') == name for t in tables)
    return False


def _same_rule(a, b, chain=None):
    """True when two rule dicts describe the same rule (its text, or chain + match + target)."""
    ra, rb = _first(a, 'raw', 'rule', 'line', 'text'), _first(b, 'raw', 'rule', 'line', 'text')
    if ra and rb:
        return str(ra).strip() == str(rb).strip()
    keys = ('source', 'destination', 'in_interface', 'out_interface', 'protocol', 'target')
    return (b.get('chain') in (None, chain, a.get('chain'))) and all(a.get(k) == b.get(k) for k in keys)


def _moved_rules(capture, counters):
    """Rules whose counters moved during the probe (from path_capture or an iptables compare)."""
    out = []
    for src in (capture or {}, counters or {}):
        if isinstance(src, list):
            items = src
        else:
            items = _first(src, 'moved_rules', 'moved', 'iptables_moved', default=[]) or []
        for item in items:
            if isinstance(item, dict):
                host = _first(item, 'host', 'inventory_hostname')
                inner = _first(item, 'moved', 'rules')
                if isinstance(inner, list):
                    for r in inner:
                        if isinstance(r, dict):
                            out.append((host, r))
                else:
                    out.append((host, item))
    return out


def _eb_rules(ebtables):
    """Yield (table, chain, rule) of ``ebtables_info.ebtables``."""
    for tname, table in sorted(((ebtables or {}).get('tables') or {}).items()):
        for cname, chain in ((table or {}).get('chains') or {}).items():
            for r in (chain or {}).get('rules') or []:
                if isinstance(r, dict):
                    yield tname, cname, r


def ebtables_drops_for(ebtables, tap, mac, address, bridge=None):
    """The ebtables DROP rules that apply to an instance's frames: its tap (-i/-o), its MAC, its IP, its
    bridge (--logical-in/out), or no port, MAC or IP restriction at all (every port of every bridge).
    nova-network's own DHCP isolation rules (``nova_isolation``) are never returned: they name the uplink."""
    out = []
    for table, chain, r in _eb_rules(ebtables):
        if str(r.get('target') or '').upper() != 'DROP' or r.get('nova_isolation'):
            continue
        neg = set(r.get('negated') or [])
        ports = [r.get(k) for k in ('in_interface', 'out_interface', 'logical_in', 'logical_out') if r.get(k) and k not in neg]
        macs = [str(r.get(k)).lower() for k in ('source', 'destination') if r.get(k) and k not in neg]
        ips = [str(r.get(k)).split('/', maxsplit=1)[0] for k in ('ip_src', 'ip_dst', 'arp_ip_src', 'arp_ip_dst') if r.get(k) and k not in neg]
        mine = ((tap and tap in ports) or (bridge and bridge in ports) or (mac and mac in macs) or (address and address in ips))
        if mine or not (ports or macs or ips):
            out.append((table, chain, r))
    return out
