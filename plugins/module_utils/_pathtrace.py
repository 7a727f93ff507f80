# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-hop verdict of a probe captured along a path: where the request and the reply were last seen
and between which two hops they vanished (private, pure functions).

A path is an ordered list of hops from the probe's source outward (for example instance eth0, vnet0,
br100, eth1 of the compute node, eth0 of the external server). The request travels forward along the
list and the reply backward. NAT is handled by matching the probe on what NAT keeps (ICMP id/seq,
DHCP client MAC, DNS name), never on addresses.
"""

from __future__ import annotations

PROBE_KINDS = ('icmp', 'dhcp', 'dns')


def bpf_filter(probe):
    """The capture filter for a probe: narrow enough to isolate it, NAT-proof."""
    kind = probe.get('type')
    if kind == 'icmp':
        base = '(icmp[icmptype] = icmp-echo or icmp[icmptype] = icmp-echoreply)'
        marker = probe.get('marker')
        if marker:
            # Payload byte 16 (ICMP offset 24) holds the -p pattern for iputils and busybox alike.
            return '%s and icmp[24] = 0x%s' % (base, marker[:2])
        return base
    if kind == 'dhcp':
        return 'udp and (port 67 or port 68)'
    if kind == 'dns':
        return 'udp port %d' % int(probe.get('port') or 53)
    raise ValueError('unknown probe type %r' % (kind,))


def classify_packet(pkt, probe):
    """``request``, ``reply`` or None for one parsed packet (see _capture.parse_tcpdump)."""
    kind = probe.get('type')
    if kind == 'icmp':
        icmp = pkt.get('icmp') or {}
        if icmp.get('type') not in ('echo-request', 'echo-reply'):
            return None
        if probe.get('icmp_id') is not None and icmp.get('id') != probe['icmp_id']:
            return None
        return 'request' if icmp['type'] == 'echo-request' else 'reply'
    if kind == 'dhcp':
        dhcp = pkt.get('dhcp') or {}
        mac = (probe.get('mac') or '').lower()
        if not dhcp or (mac and (dhcp.get('client_mac') or '').lower() != mac):
            return None
        if probe.get('xid') is not None and dhcp.get('xid') not in (None, '0x%x' % probe['xid'], '0x%08x' % probe['xid']):
            return None
        if dhcp.get('message_type') in ('DISCOVER', 'REQUEST') or (dhcp.get('message_type') is None and dhcp.get('op') == 'request'):
            return 'request'
        if dhcp.get('message_type') in ('OFFER', 'ACK', 'NAK') or (dhcp.get('message_type') is None and dhcp.get('op') == 'reply'):
            return 'reply'
        return None
    if kind == 'dns':
        dns = pkt.get('dns') or {}
        if not dns:
            return None
        if not dns.get('response'):
            qname = (probe.get('qname') or '').lower()
            if qname and (dns.get('qname') or '').lower() != qname:
                return None
            return 'request'
        if probe.get('dns_ids') is not None:
            return 'reply' if dns.get('id') in probe['dns_ids'] else None
        if probe.get('qname') and dns.get('answers'):
            names = [(a.get('name') or '').lower() for a in dns['answers']]
            if probe['qname'].lower() not in names:
                return None
        return 'reply'
    return None


def hop_name(hop):
    base = '%s:%s' % (hop.get('host') or 'localhost', hop.get('interface') or 'any')
    return '%s@%s' % (base, hop['netns']) if hop.get('netns') else base


def summarize_hop(hop, packets, probe):
    """Counts and first/last time of request and reply packets at one hop."""
    out = {'hop': hop.get('name') or hop_name(hop), 'host': hop.get('host'), 'interface': hop.get('interface'),
           'netns': hop.get('netns'), 'captured': hop.get('captured', True), 'error': hop.get('error'),
           'request_seen': 0, 'reply_seen': 0, 'duplicates': 0, 'first_time': None, 'last_time': None,
           'request_addresses': [], 'reply_addresses': []}
    for pkt in packets:
        if hop.get('interface') not in (None, 'any') and pkt.get('interface') not in (None, hop['interface']):
            continue
        role = classify_packet(pkt, probe)
        if role is None:
            continue
        if pkt.get('duplicate_of') is not None:
            out['duplicates'] += 1
        out[role + '_seen'] += 1
        pair = '%s > %s' % (pkt.get('src'), pkt.get('dst'))
        if pair not in out[role + '_addresses']:
            out[role + '_addresses'].append(pair)
        when = pkt.get('time')
        if when is not None:
            out['first_time'] = when if out['first_time'] is None else min(out['first_time'], when)
            out['last_time'] = when if out['last_time'] is None else max(out['last_time'], when)
    return out


def vanished(summaries, key):
    """Where a packet stopped along ``summaries`` (already in travel order).

    Returns ``{complete, last_seen, first_missing, vanished_between, never_seen, gaps}``: gaps are hops
    before the last sighting where it was not seen (a capture point that missed it, not a drop).
    """
    # a hop whose capture failed says nothing either way: leave it out
    summaries = [s for s in summaries if s.get('captured', True)]
    seen = [s[key] > 0 for s in summaries]
    names = [s['hop'] for s in summaries]
    result = {'complete': bool(seen) and all(seen), 'last_seen': None, 'first_missing': None,
              'vanished_between': None, 'never_seen': not any(seen), 'gaps': []}
    if not any(seen):
        result['first_missing'] = names[0] if names else None
        return result
    last = max(i for i, flag in enumerate(seen) if flag)
    result['last_seen'] = names[last]
    result['gaps'] = [names[i] for i in range(last) if not seen[i]]
    if last < len(names) - 1:
        result['first_missing'] = names[last + 1]
        result['vanished_between'] = [names[last], names[last + 1]]
    return result


def analyze(hops, probe):
    """Per-hop table and the verdict per direction for one probe.

    ``hops``: ordered list of ``{host, interface, netns, name?, packets: [...], captured?, error?}``.
    """
    if probe.get('type') not in PROBE_KINDS:
        raise ValueError('unknown probe type %r' % (probe.get('type'),))
    if probe['type'] == 'dns' and probe.get('dns_ids') is None:
        # Answers carry no question in tcpdump -v text: pair them with our queries by DNS id.
        probe = dict(probe, dns_ids=sorted(set(
            pkt['dns']['id'] for hop in hops for pkt in hop.get('packets') or []
            if pkt.get('dns') and classify_packet(pkt, probe) == 'request')))
    table = [summarize_hop(hop, hop.get('packets') or [], probe) for hop in hops]
    request = vanished(table, 'request_seen')
    reply = vanished(list(reversed(table)), 'reply_seen')
    captured = [row for row in table if row['captured']]
    request_reached = bool(captured) and captured[-1]['request_seen'] > 0
    reply_returned = bool(captured) and captured[0]['reply_seen'] > 0
    if request['never_seen']:
        verdict = 'request never seen: not sent, or lost before %s' % (table[0]['hop'] if table else 'the first hop')
    elif request['vanished_between']:
        verdict = 'request vanished between %s and %s' % tuple(request['vanished_between'])
    elif reply['never_seen']:
        verdict = 'request reached %s but no reply was seen anywhere' % request['last_seen']
    elif reply['vanished_between']:
        verdict = 'reply vanished between %s and %s' % tuple(reply['vanished_between'])
    else:
        verdict = 'request and reply seen end to end'
    gaps = request['gaps'] + [g for g in reply['gaps'] if g not in request['gaps']]
    if gaps:
        verdict += ' (not captured at %s: a capture gap there, not a drop)' % ', '.join(gaps)
    failed = [row['hop'] for row in table if not row['captured']]
    if failed:
        verdict += ' (no capture at %s: %s)' % (', '.join(failed), '; '.join(sorted(set(
            str(row['error']) for row in table if not row['captured']))))
    return {'hops': table, 'request': request, 'reply': reply, 'healthy': request_reached and reply_returned and not failed,
            'verdict': verdict, 'failed_captures': failed}


def learn_icmp_id(packets, source_address=None):
    """The ICMP echo id of the probe as seen at its source hop (first echo request)."""
    for pkt in packets:
        icmp = pkt.get('icmp') or {}
        if icmp.get('type') == 'echo-request' and (source_address is None or pkt.get('src') == source_address):
            return icmp.get('id')
    return None


def _key(host, netns):
    return (host or 'localhost', netns or None)


def capture_groups(hops):
    """One capture per (host, namespace): its interfaces, in hop order (``any`` alone when asked)."""
    groups = []
    index = {}
    for hop in hops:
        if not isinstance(hop, dict) or not hop.get('host') or not hop.get('interface'):
            raise ValueError('every hop needs a host and an interface, got %r' % (hop,))
        key = _key(hop['host'], hop.get('netns'))
        if key not in index:
            index[key] = len(groups)
            groups.append({'host': hop['host'], 'netns': hop.get('netns') or None, 'interfaces': []})
        group = groups[index[key]]
        if hop['interface'] not in group['interfaces']:
            group['interfaces'].append(hop['interface'])
    for group in groups:
        if 'any' in group['interfaces']:
            group['interfaces'] = ['any']
    return groups


def report(capture_results, hops, probe, probe_result=None, moved=None):
    """Combine the per-host capture results (one per ``capture_groups`` entry, same order) into ``analyze``.

    ``capture_results``: registered packet_capture results (``failed``/``msg`` kept as the hop's error).
    ``moved``: iptables rules that moved during the window, per host (see ``moved_rules``); without it, those
    the captures read themselves (packet_capture ``iptables_counters``: ``iptables_moved``).
    ``probe``: ``{type, marker?, mac?, xid?, qname?, icmp_id?}``; for ICMP without ``icmp_id`` the id is
    learned from the first echo request seen on the first hop that saw one.
    """
    groups = capture_groups(hops)
    by_key = {}
    for group, result in zip(groups, capture_results or []):
        by_key[_key(group['host'], group['netns'])] = result or {}
    probe = dict(probe)
    built = []
    for hop in hops:
        result = by_key.get(_key(hop['host'], hop.get('netns')), {})
        failed = bool(result.get('failed')) or 'packets' not in result
        error = (result.get('msg') or 'no capture result') if failed else None
        if not failed and hop['interface'] in (result.get('down_interfaces') or []):
            failed, error = True, 'interface %s is down: not captured' % hop['interface']
        built.append({'host': hop['host'], 'interface': hop['interface'], 'netns': hop.get('netns'), 'name': hop.get('name'),
                      'captured': not failed, 'error': error,
                      'packets': [] if failed else [p for p in result['packets']
                                                    if hop['interface'] == 'any' or p.get('interface') in (None, hop['interface'])]})
    if probe.get('type') == 'icmp' and probe.get('icmp_id') is None:
        for hop in built:
            probe['icmp_id'] = learn_icmp_id(hop['packets'])
            if probe['icmp_id'] is not None:
                break
    out = analyze(built, probe)
    for row, hop in zip(out['hops'], built):
        row['request_count'] = row['request_seen']
        row['reply_count'] = row['reply_seen']
        # how that hop's capture ended: window_closed (the role closed it), deadline, count, size, exit, error
        caps = by_key.get(_key(hop['host'], hop.get('netns')), {}).get('captures') or []
        row['stopped_by'] = next((c.get('stopped_by') for c in caps if c.get('interface') in (hop['interface'], 'any')), None)
    out['probe'] = probe
    out['probe_result'] = probe_result
    own = [(g, r) for g, r in zip(groups, capture_results or []) if isinstance(r, dict)]
    if moved is None:
        moved = [{'host': g['host'], 'netns': g['netns'], 'moved': r.get('iptables_moved')} for g, r in own]
    out['moved_rules'] = moved_rules(moved)
    # hosts whose capture ran but could not read the iptables counters (iptables_counters): said, not hidden
    out['counter_errors'] = [{'host': g['host'], 'netns': g['netns'], 'error': r['iptables_error']}
                             for g, r in own if r.get('iptables_error')]
    windows = [(r.get('started_at'), r.get('ended_at')) for r in (capture_results or []) if r and r.get('started_at')]
    out['window'] = {'opened': max(w[0] for w in windows) if windows else None,
                     'closed': min(w[1] for w in windows) if windows else None}
    return out


def moved_rules(results):
    """Normalise iptables compare results to ``[{host, netns, moved: [...]}]`` (hosts where something moved).

    Accepts ready entries (``{host, netns, moved}``) or registered loop results of iptables_info whose
    ``item`` is ``[group, snapshot]`` or a group.
    """
    out = []
    for res in results or []:
        if not isinstance(res, dict) or res.get('skipped') or res.get('failed') or not res.get('moved'):
            continue
        item = res.get('item')
        group = item[0] if isinstance(item, (list, tuple)) and item else (item if isinstance(item, dict) else res)
        out.append({'host': group.get('host'), 'netns': group.get('netns'), 'moved': res['moved']})
    return out
