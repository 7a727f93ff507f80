# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parser of ``ebtables-save -c`` (nft and legacy) and counter comparison (private).

nft writes ``[packets:bytes] -A CHAIN ...``, legacy ``-A CHAIN ... -c packets bytes``; both are read.
Each rule is decoded into its matches (interfaces, MACs, protocol, IPv4 and ARP fields, ports), and
two kinds are recognised:

- ``nova_isolation``: the rules nova-network's ``isolate_dhcp_address`` installs in multi_host mode
  (ARP of the DHCP address and DHCP itself dropped across the bridge's uplink, so that only the local
  dnsmasq answers its instances);
- ``dhcp``: any rule matching IPv4 UDP port 67 or 68.
"""

from __future__ import annotations

import re

SAVE_BINARIES = {'auto': 'ebtables-save', 'nft': 'ebtables-nft-save', 'legacy': 'ebtables-legacy-save'}

# option -> field (long and short spellings of ebtables(8))
_FIELDS = {
    '-p': 'protocol', '--protocol': 'protocol',
    '-i': 'in_interface', '--in-interface': 'in_interface', '--in-if': 'in_interface',
    '-o': 'out_interface', '--out-interface': 'out_interface', '--out-if': 'out_interface',
    '--logical-in': 'logical_in', '--logical-out': 'logical_out',
    '-s': 'source', '--source': 'source', '--src': 'source',
    '-d': 'destination', '--destination': 'destination', '--dst': 'destination',
    '--ip-proto': 'ip_proto', '--ip-protocol': 'ip_proto',
    '--ip-src': 'ip_src', '--ip-source': 'ip_src', '--ip-dst': 'ip_dst', '--ip-destination': 'ip_dst',
    '--ip-sport': 'ip_sport', '--ip-source-port': 'ip_sport', '--ip-dport': 'ip_dport', '--ip-destination-port': 'ip_dport',
    '--arp-ip-src': 'arp_ip_src', '--arp-ip-dst': 'arp_ip_dst', '--arp-op': 'arp_op',
    '-j': 'target', '--jump': 'target',
}
_COUNTERS_PREFIX = re.compile(r'^\[(\d+):(\d+)\]\s+')
_COUNTERS_SUFFIX = re.compile(r'\s+-c\s+(\d+)\s+(\d+)\s*$')


class EbtablesError(Exception):
    """Text that is not ebtables-save output."""


def _ports(spec):
    if not spec:
        return None
    lo, dummy, hi = str(spec).partition(':')
    try:
        return int(lo or 0), int(hi or lo or 65535)
    except ValueError:
        return None


def _covers(spec, port):
    rng = _ports(spec)
    return rng is not None and rng[0] <= port <= rng[1]


def decode_rule(text):
    """``-A CHAIN match... -j TARGET`` -> dict of its fields (``negated`` lists the negated ones)."""
    toks = text.split()
    if len(toks) < 2 or toks[0] != '-A':
        raise EbtablesError('not a rule: %r' % text[:120])
    r = {'chain': toks[1], 'rule': text, 'target': None, 'negated': [], 'matches': []}
    i, neg = 2, False
    while i < len(toks):
        t = toks[i]
        if t == '!':
            neg = True
            i += 1
            continue
        field = _FIELDS.get(t)
        if field and i + 1 < len(toks):
            val = toks[i + 1]
            if val == '!':  # old syntax: option ! value
                neg, val = True, toks[i + 2] if i + 2 < len(toks) else ''
                i += 1
            r[field] = val.lower() if field in ('source', 'destination') else val
            if neg:
                r['negated'].append(field)
            i += 2
        else:
            if t.startswith('-'):
                r['matches'].append(t)
            i += 1
        neg = False
    proto = str(r.get('protocol') or '').lower()
    udp = str(r.get('ip_proto') or '').lower() in ('udp', '17')
    r['dhcp'] = proto in ('ipv4', '0x0800') and udp and any(_covers(r.get(k), p) for k in ('ip_dport', 'ip_sport') for p in (67, 68))
    r['nova_isolation'] = _nova_isolation(r)
    return r


def _nova_isolation(r):
    """One of the four rules of nova-network's isolate_dhcp_address (linux_net.py)."""
    if str(r.get('target') or '').upper() != 'DROP' or r['negated']:
        return False
    chain, proto = r['chain'], str(r.get('protocol') or '').lower()
    if chain == 'INPUT' and proto == 'arp' and r.get('in_interface') and r.get('arp_ip_dst'):
        return True
    if chain == 'OUTPUT' and proto == 'arp' and r.get('out_interface') and r.get('arp_ip_src'):
        return True
    return (chain == 'FORWARD' and r['dhcp'] and str(r.get('ip_dport')) == '67:68'
            and bool(r.get('in_interface')) != bool(r.get('out_interface')))


def parse_save(text):
    """``ebtables-save [-c]`` text -> {backend, version, tables: {table: {chains: {chain: {policy, rules}}}}, rule_count}."""
    out = {'backend': None, 'version': None, 'tables': {}, 'rule_count': 0}
    table = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith('#'):
            m = re.search(r'ebtables-save v(\S+)(?: \((\w+)\))?', line)
            if m:
                out['version'], out['backend'] = m.group(1), (m.group(2) or 'legacy').replace('nf_tables', 'nft')
            continue
        if line.startswith('*'):
            table = out['tables'].setdefault(line[1:].strip(), {'chains': {}})
            continue
        if table is None:
            raise EbtablesError('line %d: %r before any *table line' % (n, line[:80]))
        if line.startswith(':'):
            name, dummy, policy = line[1:].partition(' ')
            table['chains'].setdefault(name, {'policy': policy.strip() or None, 'rules': []})
            continue
        packets = nbytes = None
        m = _COUNTERS_PREFIX.match(line)
        if m:
            packets, nbytes, line = int(m.group(1)), int(m.group(2)), line[m.end():]
        m = _COUNTERS_SUFFIX.search(line)
        if m:
            packets, nbytes, line = int(m.group(1)), int(m.group(2)), line[:m.start()]
        try:
            r = decode_rule(line)
        except EbtablesError as exc:
            raise EbtablesError('line %d: %s' % (n, exc))
        chain = table['chains'].setdefault(r['chain'], {'policy': None, 'rules': []})
        r.update(index=len(chain['rules']) + 1, packets=packets, bytes=nbytes)
        chain['rules'].append(r)
        out['rule_count'] += 1
    return out


def walk(parsed):
    for tname, table in sorted(parsed['tables'].items()):
        for cname, chain in table['chains'].items():
            for r in chain['rules']:
                yield tname, cname, r


def summarize(parsed):
    """Rule counts, nova-network's DHCP isolation rules, DHCP-matching DROPs outside them, DROPs with hits."""
    iso, dhcp_drops, hits = [], [], []
    for t, c, r in walk(parsed):
        brief = {'table': t, 'chain': c, 'index': r['index'], 'rule': r['rule'], 'packets': r['packets'], 'bytes': r['bytes']}
        if r['nova_isolation']:
            iso.append(brief)
        elif r['dhcp'] and str(r.get('target')).upper() == 'DROP':
            dhcp_drops.append(brief)
        if str(r.get('target')).upper() == 'DROP' and r['packets']:
            hits.append(brief)
    return {'rules': parsed['rule_count'], 'nova_dhcp_isolation': iso, 'dhcp_drops': dhcp_drops, 'drops_with_hits': hits}


def compare_counters(before, after):
    """Rules of ``after`` whose packet counter grew since ``before`` (matched by table, chain and rule text)."""
    old = {(t, c, r['rule']): r for t, c, r in walk(before)}
    moved = []
    for t, c, r in walk(after):
        o = old.get((t, c, r['rule']))
        if o is None or r['packets'] is None or o['packets'] is None:
            continue
        if r['packets'] > o['packets']:
            moved.append({'table': t, 'chain': c, 'index': r['index'], 'rule': r['rule'], 'target': r['target'],
                          'packets': r['packets'] - o['packets'], 'bytes': (r['bytes'] or 0) - (o['bytes'] or 0),
                          'drop': str(r['target']).upper() == 'DROP', 'dhcp': r['dhcp']})
    moved.sort(key=lambda x: (not x['drop'], x['table'], x['chain'], x['index']))
    return moved
