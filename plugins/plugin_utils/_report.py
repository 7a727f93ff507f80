# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report: the JSON document and its Markdown rendering (private).

``build_report()`` assembles the JSON document described in docs/report.md (schema:
schemas/diagnose_report.schema.json): per hop what was observed there (capture, else ping, else
link facts, with why when nothing was measured), where the cause lies (``verdict.place``), the
advice's commands, each evidence item tied to its hop or host. ``to_markdown()`` renders it;
``_report_html.render()`` draws the same in the same order as a self-contained HTML page.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _verdict

SCHEMA_VERSION = 1


def _problems_of(hosts):
    out = []
    for host, facts in sorted((hosts or {}).items()):
        if not isinstance(facts, dict):
            continue
        for source in ('interfaces', 'bridges', 'iptables', 'dnsmasq', 'domains', 'nova_conf', 'console_log'):
            data = facts.get(source)
            for obj, p in _iter_problems(data):
                out.append({'host': host, 'source': source, 'object': p.get('object') or obj,
                            'code': str(p.get('code') or 'problem'), 'message': str(p.get('message') or '')})
    return out


def _iter_problems(data, obj=None, depth=0):
    if depth > 5:
        return
    if isinstance(data, dict):
        for p in data.get('problems') or []:
            if isinstance(p, dict):
                yield obj, p
            elif p:
                yield obj, {'code': 'problem', 'message': str(p)}
        for k, v in data.items():
            if k != 'problems' and isinstance(v, (dict, list)):
                yield from _iter_problems(v, data.get('name', k if isinstance(v, dict) else obj), depth + 1)
    elif isinstance(data, list):
        for v in data:
            if isinstance(v, (dict, list)):
                yield from _iter_problems(v, v.get('name', obj) if isinstance(v, dict) else obj, depth + 1)


# what was observed at a hop, in words (the picture's legend and the tables use the same)
OBSERVED = {
    'both': 'seen both ways',
    'request_only': 'request only',
    'reply_only': 'reply only',
    'none': 'not seen',
    'probe_ok': 'ping answered',
    'probe_failed': 'ping not answered',
    'link_up': 'not captured, link up',
    'link_down': 'not captured, link down',
    'unknown': 'nothing measured',
}

# the ping ladder step that measures an address hop (no interface to capture on)
_HOP_PROBES = {'gateway': ('compute_gateway',), 'external': ('compute_external', 'guest_external')}


def _hop_status(hop, place, verdict):
    if place and place.get('hop') == hop['id']:
        return 'fault'
    if place and hop['id'] in (place.get('hops') or []):
        return 'suspect'
    # nothing wrong was found at this hop: the probe got there, or beyond the fault, or its link is up
    if verdict.get('status') == 'ok' or hop.get('observed') not in ('unknown', 'link_down', 'probe_failed'):
        return 'ok'
    return 'unknown'


def _observe(hop, inputs, ladder, cap_hosts, cap_raw):
    """(observed, why) of one hop: its capture first, else the ping ladder, else its link facts."""
    c = hop.get('capture')
    why = None
    if c and not c.get('error'):
        req, rep = bool(c.get('request_seen')), bool(c.get('reply_seen'))
        return ('both' if req and rep else 'request_only' if req else 'reply_only' if rep else 'none'), None
    if c and c.get('error'):
        why = 'the capture on this hop failed: %s' % c['error']
    elif not isinstance(cap_raw, dict) or not cap_raw:
        why = 'no capture ran (the ping ladder found nothing to trace)'
    elif cap_raw.get('error'):
        why = 'the capture could not run: %s' % cap_raw['error']
    elif not hop.get('on_path', True):
        why = 'not on the path to the outside'
    elif not hop.get('host'):
        why = 'an address outside the inventory: no host to capture on'
    elif hop.get('host') not in cap_hosts:
        why = 'the capture covered %s only (diagnose_capture_scope)' % ', '.join(sorted(cap_hosts))
    else:
        why = 'not captured'
    for step in _HOP_PROBES.get(hop.get('kind'), ()):
        if ladder.get(step) is not None:
            return ('probe_ok' if ladder[step] else 'probe_failed'), '%s; %s ping' % (why, step)
    if hop.get('interface') and hop.get('host'):
        facts = ((inputs.get('hosts') or {}).get(hop['host']) or {})
        iface = _verdict.interfaces_by_name(facts.get('interfaces') if isinstance(facts, dict) else None).get(hop['interface'])
        if iface is not None:
            up = _verdict.admin_up(iface) and _verdict.has_carrier(iface)
            return ('link_up' if up else 'link_down'), '%s; link state from interface_info' % why
        if not facts:
            why += '; no facts of %s' % hop['host']
    elif not hop.get('host'):
        if hop.get('kind') == 'guest_nic':
            why = 'the instance is not reachable by Ansible (no host of group netdiag_instances)'
        elif hop.get('kind') == 'external':
            why = 'no external probe host (group netdiag_external) and no ping to it'
    return 'unknown', why


def _evidence_ref(e, hops, place):
    """The hop an evidence item is about (by host and an interface named in it), else None."""
    if e.get('kind') == 'capture':
        return None
    text = ' %s ' % str(e.get('excerpt'))
    cands = [h for h in hops if h.get('host') == e.get('host') and h.get('interface')
             and re.search(r'(?<![\w.-])%s(?![\w-])' % re.escape(h['interface']), text)]
    if place and place.get('hop'):
        cands.sort(key=lambda h: h['id'] != place['hop'])
    return cands[0]['id'] if cands else None


def last_seen_text(cap, code='`%s`'):
    """Where the capture last saw the request and the reply; ``code`` quotes a hop id (Markdown by default)."""
    return 'Request last seen at %s, reply last seen at %s.' % tuple(
        (code % cap[k]) if cap.get(k) else 'no hop' for k in ('request_last_seen', 'reply_last_seen'))


def evidence_refs(indexes):
    """``E1, E3``: the report's names of evidence items by their indexes."""
    return ', '.join('E%d' % (i + 1) for i in indexes or [])


def commands_of(advice):
    """The commands quoted in the advice (between backquotes), in order, each once."""
    out = []
    for cmd in re.findall(r'`([^`]*)`', str(advice or '')):
        cmd = cmd.strip()
        if cmd and cmd not in out:
            out.append(cmd)
    return out


def also_fired(v):
    """The causes that fired besides the verdict's own (docs/causes.md ranks them)."""
    return [c for c in v.get('suspects') or [] if c.get('cause') != v.get('cause')]


def place_text(place):
    """One line: where the cause lies."""
    if not place:
        return None
    where = {'hop': 'hop %s on %s' % (place.get('hop'), place.get('host') or 'the network'),
             'stack': 'the network stack of %s' % (place.get('host') or 'the network beyond the gateway'),
             'segment': 'segment hops %s' % ', '.join(place.get('hops') or []),
             'db': 'the nova database'}.get(place.get('kind'), place.get('kind'))
    obj = place.get('object')
    return '%s, %s%s' % (place.get('label'), where, (': %s' % obj) if obj and place.get('kind') != 'hop' else
                         (' (%s)' % obj if obj else ''))


def ref_text(e, hops_by_id):
    """Where an evidence item points: its hop, else its host."""
    h = hops_by_id.get(e.get('hop')) if e.get('hop') else None
    if h is not None:
        return 'hop %s (%s on %s)' % (h['id'], h.get('interface') or h.get('address'), h.get('host') or 'the network')
    if e.get('place'):
        return 'the place of the cause'
    if e.get('kind') == 'capture':
        return 'the path'
    return 'host %s' % e.get('host')


def build_report(inputs, hops, verdict, query=None, timings=None, generated_at=None):
    """Return the report document (a plain dict that validates against the JSON Schema)."""
    inst = _verdict.instance_summary(inputs.get('instance'))
    inst['query'] = query if query is not None else (inst.get('hostname') or inst.get('uuid'))
    place = verdict['place'] if 'place' in verdict else _verdict.fault_place(verdict, hops or [], inputs.get('compute_host'))
    lad = verdict.get('ladder') or _verdict.ladder(inputs.get('probes'))
    cap_raw = inputs.get('capture')
    cap_hosts = {h.get('host') for h in hops or [] if h.get('capture')}
    out_hops = []
    for h in hops or []:
        hh = {k: h.get(k) for k in ('index', 'id', 'kind', 'host', 'interface', 'address', 'mac', 'label', 'segment')}
        hh['on_path'] = bool(h.get('on_path', True))
        hh['notes'] = [str(n) for n in h.get('notes') or []]
        hh['capture'] = h.get('capture')
        hh['observed'], hh['observed_why'] = _observe(hh, inputs, lad, cap_hosts, cap_raw)
        hh['status'] = _hop_status(hh, place, verdict)
        out_hops.append(hh)
    probes = []
    for p in _verdict.normalise_probes(inputs.get('probes')):
        probes.append({
            'step': str(p.get('step')), 'from_host': p.get('from_host'), 'target': p.get('target'),
            'ok': p.get('ok'), 'sent': p.get('sent'), 'received': p.get('received'),
            'loss': p.get('loss') if p.get('loss') is not None else p.get('loss_percent'),
            'rtt_avg_ms': p.get('rtt_avg') if p.get('rtt_avg') is not None else p.get('rtt_avg_ms'),
        })
    moved = []
    for host, r in _verdict._moved_rules(inputs.get('capture'), inputs.get('counters')):  # pylint: disable=protected-access
        # jumps into other chains and chain policies only say that traffic passed: keep the rules that decide
        tgt = str(r.get('target') or '')
        if r.get('policy') or tgt.startswith('nova-') or tgt not in ('ACCEPT', 'DROP', 'REJECT', 'DNAT', 'SNAT', 'MASQUERADE', 'RETURN'):
            continue
        moved.append({'host': host, 'rule': _verdict._rule_text(r.get('table'), r.get('chain'), r),  # pylint: disable=protected-access
                      'target': r.get('target'), 'packets': r.get('packets_delta', r.get('delta', r.get('packets')))})
    cap = dict(verdict.get('capture') or {})
    cap['moved_rules'] = moved
    raw_cap = inputs.get('capture')
    if isinstance(raw_cap, dict) and raw_cap.get('error'):
        cap['error'] = str(raw_cap['error'])
    dns = [d for d in inputs.get('dns') or [] if isinstance(d, dict) and not d.get('skipped')]
    dhcp = inputs.get('dhcp_probe') if isinstance(inputs.get('dhcp_probe'), dict) and not inputs['dhcp_probe'].get('skipped') else None
    v = {k: verdict.get(k) for k in ('status', 'segment', 'cause', 'hop', 'summary', 'advice')}
    v['place'] = place
    v['commands'] = commands_of(verdict.get('advice'))
    v['evidence'] = []
    for e in verdict.get('evidence') or []:
        item = {'host': str(e.get('host')), 'source': str(e.get('source')), 'excerpt': str(e.get('excerpt')),
                'kind': e.get('kind')}
        # the cause's own evidence on the host of a place that is no hop (a rule, a pid file, a DB row)
        item['place'] = bool(place and place['kind'] in ('stack', 'db') and item['kind'] == 'cause'
                             and (place.get('host') is None or item['host'] in (place.get('host'), 'nova-db')))
        item['hop'] = None if item['place'] else _evidence_ref(item, out_hops, place)
        v['evidence'].append(item)
    for hh in out_hops:
        hh['evidence'] = [i for i, e in enumerate(v['evidence']) if e['hop'] == hh['id']]
    if place:
        # a copy: the verdict's own place stays as the engine returned it
        v['place'] = dict(place, evidence=[i for i, e in enumerate(v['evidence']) if e['place']])
    v['suspects'] = verdict.get('suspects') or []
    v['notes'] = verdict.get('notes') or []
    v['rule'] = verdict.get('rule')
    v['backend'] = verdict.get('backend')
    v['unchecked'] = verdict.get('unchecked') or []
    if verdict.get('offline'):
        v['offline'] = verdict['offline']
    return {
        'schema_version': SCHEMA_VERSION,
        'generated_at': generated_at or datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'tool': 'cloudops.netdiag.analyze_offline' if verdict.get('offline') else 'cloudops.netdiag.diagnose_instance',
        'instance': inst,
        'compute_host': inputs.get('compute_host'),
        'guest_host': inputs.get('guest_host'),
        'external_host': inputs.get('external_host'),
        'external_target': inputs.get('external_target'),
        'hops': out_hops,
        'ladder': verdict.get('ladder') or {},
        'probes': probes,
        'capture': cap,
        'dhcp_probe': dhcp,
        'dns': dns,
        'dns_trigger': [str(t) for t in inputs.get('dns_trigger') or []],
        'problems': _problems_of(inputs.get('hosts')),
        'timings': {str(k): float(v) for k, v in (timings or {}).items()},
        'verdict': v,
    }


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------

def _md(s):
    return str('' if s is None else s).replace('|', '\\|').replace('\n', ' ')


def _fence(s):
    """A line inside a Markdown code block that cannot close it."""
    return str(s).replace('```', "'''")


def seen_text(c, key):
    if not c:
        return 'not captured'
    if c.get('error'):
        return 'error'
    return 'yes' if c.get(key) else 'no'


def to_markdown(report):
    """The report for a ticket, in the order of the HTML page: verdict, place, next step and its
    commands, instance, path, evidence, probes, moved rules, problems, notes, timings."""
    v = report['verdict']
    inst = report['instance']
    hops_by_id = {h['id']: h for h in report['hops']}
    lines = ['# Network diagnosis: %s' % (inst.get('hostname') or inst.get('uuid')), '']
    lines.append('**Verdict: %s**, segment `%s`, cause `%s`' % (v['status'].upper(), v.get('segment'), v.get('cause')))
    lines += ['', '%s' % v.get('summary'), '']
    if v.get('place'):
        lines += ['**Where:** %s' % place_text(v['place']), '']
    lines.append('**Next step:** %s' % v.get('advice'))
    for cmd in v.get('commands') or []:
        lines += ['', '```sh', _fence(cmd), '```']
    lines += ['', '## Instance', '',
              '| uuid | hostname | host | state | fixed IPs | floating IPs |', '| --- | --- | --- | --- | --- | --- |',
              '| %s | %s | %s | %s | %s | %s |' % (
                  _md(inst.get('uuid')), _md(inst.get('hostname')), _md(inst.get('host')), _md(inst.get('vm_state')),
                  _md(', '.join(str(f.get('address')) for f in inst.get('fixed_ips') or [])),
                  _md(', '.join(inst.get('floating_ips') or [])))]
    lines += ['', '## Path', '',
              '| # | hop | host | interface | address | observed | request seen | reply seen | status | evidence | why |',
              '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |']
    place = v.get('place') or {}
    place_row = '| | **%s** | %s | | | | | | **fault** | %s | %s |' % (
        _md(place.get('label')), _md(place.get('host')), evidence_refs(place.get('evidence')), _md(place.get('object')))
    if place.get('kind') == 'db':
        lines.append(place_row)
    for h in report['hops']:
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            h['index'], _md(h['label']), _md(h.get('host')), _md(h.get('interface')), _md(h.get('address')),
            _md(OBSERVED.get(h.get('observed'), h.get('observed'))),
            seen_text(h.get('capture'), 'request_seen'), seen_text(h.get('capture'), 'reply_seen'),
            '**%s**' % h['status'] if h['status'] in ('fault', 'suspect') else h['status'],
            evidence_refs(h.get('evidence')), _md(h.get('observed_why') or '')))
        if place.get('kind') == 'stack' and place.get('after') == h['id']:
            lines.append(place_row)
    cap = report.get('capture') or {}
    if cap.get('captured_hops'):
        lines += ['', last_seen_text(cap)]
    lines += ['', '## Evidence', '']
    for n, e in enumerate(v['evidence'], 1):
        lines.append('- **E%d** %s (%s), at %s:' % (n, _md(e['host']), _md(e['source']), _md(ref_text(e, hops_by_id))))
        lines.append('')
        lines.append('  ```')
        for ln in str(e['excerpt']).splitlines() or ['']:
            lines.append('  ' + _fence(ln))
        lines.append('  ```')
    lines += ['', '## Probes (ping ladder)', '', '| step | from | target | result | sent | received |', '| --- | --- | --- | --- | --- | --- |']
    for p in report['probes']:
        result = {True: 'ok', False: 'FAILED'}.get(p.get('ok'), '?')
        lines.append('| %s | %s | %s | %s | %s | %s |' % (
            _md(p['step']), _md(p.get('from_host')), _md(p.get('target')), result, _md(p.get('sent')), _md(p.get('received'))))
    if cap.get('moved_rules'):
        lines += ['', '## iptables rules whose counters moved during the probe', '']
        for r in cap['moved_rules']:
            lines.append('- %s: `%s`' % (_md(r.get('host')), _md(r.get('rule'))))
    if report.get('problems'):
        lines += ['', '## Problems found in the facts', '']
        for p in report['problems']:
            lines.append('- %s %s `%s`: %s' % (_md(p['host']), _md(p.get('object')), _md(p['code']), _md(p['message'])))
    others = also_fired(v)
    if others:
        lines += ['', '## Other causes that fired', ''] + ['- `%s` (%s, %s)' % (
            _md(c['cause']), _md(c.get('segment')), 'confirmed' if c.get('confirmed') else 'not confirmed') for c in others]
    if v.get('unchecked'):
        lines += ['', '## Not checked', ''] + ['- `%s`: %s' % (_md(u['cause']), _md(u['reason'])) for u in v['unchecked']]
    off = v.get('offline') or {}
    if off:
        lines += ['', '## Not checkable offline', '', 'Read from the %s %s.' % (_md(off.get('kind')), _md(off.get('source'))), '']
        lines += ['- `%s`: %s' % (_md(n['what']), _md(n['reason'])) for n in off.get('not_checkable') or []]
    if v.get('notes') or off.get('notes'):
        lines += ['', '## Notes', ''] + ['- %s' % _md(n) for n in (v.get('notes') or []) + list(off.get('notes') or [])]
    if report.get('timings'):
        lines += ['', '## Timings', ''] + ['- %s: %.2f s' % (k, t) for k, t in report['timings'].items()]
    lines.append('')
    return '\n'.join(lines)
