# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report: JSON document, Markdown and a self-contained HTML page (private).

``build_report()`` assembles the JSON document described in docs/report.md (schema:
schemas/diagnose_report.schema.json); ``to_markdown()`` and ``to_html()`` render it. The HTML page
draws the path as an inline SVG (one box per hop, the failing hop marked, where the request and
the reply were last seen) and lists the evidence; it needs no network access and no script.
"""

from __future__ import annotations

import datetime
import html

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


def _hop_status(hop, verdict):
    if verdict.get('status') == 'fault' and verdict.get('hop') == hop['id']:
        return 'fault'
    if verdict.get('status') == 'fault' and not verdict.get('hop') and verdict.get('segment'):
        if hop.get('segment') == verdict['segment']:
            return 'suspect'
        # the compute node's own segment (forwarding, iptables, NAT, dnsmasq) lies between its bridge and its NIC
        if verdict['segment'] == 'compute' and hop.get('kind') in ('bridge', 'physical'):
            return 'suspect'
    return 'ok' if verdict.get('status') == 'ok' else 'unknown'


def build_report(inputs, hops, verdict, query=None, timings=None, generated_at=None):
    """Return the report document (a plain dict that validates against the JSON Schema)."""
    inst = _verdict.instance_summary(inputs.get('instance'))
    inst['query'] = query if query is not None else (inst.get('hostname') or inst.get('uuid'))
    out_hops = []
    for h in hops or []:
        hh = {k: h.get(k) for k in ('index', 'id', 'kind', 'host', 'interface', 'address', 'mac', 'label', 'segment')}
        hh['on_path'] = bool(h.get('on_path', True))
        hh['notes'] = [str(n) for n in h.get('notes') or []]
        hh['capture'] = h.get('capture')
        hh['status'] = _hop_status(h, verdict)
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
    v['evidence'] = [{'host': str(e.get('host')), 'source': str(e.get('source')), 'excerpt': str(e.get('excerpt'))}
                     for e in verdict.get('evidence') or []]
    v['suspects'] = verdict.get('suspects') or []
    v['notes'] = verdict.get('notes') or []
    return {
        'schema_version': SCHEMA_VERSION,
        'generated_at': generated_at or datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'tool': 'cloudops.netdiag.diagnose_instance',
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


def _seen(c, key):
    if not c:
        return 'not captured'
    if c.get('error'):
        return 'error'
    return 'yes' if c.get(key) else 'no'


def to_markdown(report):
    v = report['verdict']
    inst = report['instance']
    lines = ['# Network diagnosis: %s' % (inst.get('hostname') or inst.get('uuid')), '']
    lines.append('**Verdict: %s**, segment `%s`, cause `%s`' % (v['status'].upper(), v.get('segment'), v.get('cause')))
    lines.append('')
    lines.append('%s' % v.get('summary'))
    lines.append('')
    lines.append('**Next step:** %s' % v.get('advice'))
    lines += ['', '## Instance', '',
              '| uuid | hostname | host | state | fixed IPs | floating IPs |', '| --- | --- | --- | --- | --- | --- |',
              '| %s | %s | %s | %s | %s | %s |' % (
                  _md(inst.get('uuid')), _md(inst.get('hostname')), _md(inst.get('host')), _md(inst.get('vm_state')),
                  _md(', '.join(str(f.get('address')) for f in inst.get('fixed_ips') or [])),
                  _md(', '.join(inst.get('floating_ips') or [])))]
    lines += ['', '## Path', '', '| # | hop | host | interface | address | request seen | reply seen | status |',
              '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for h in report['hops']:
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            h['index'], _md(h['label']), _md(h.get('host')), _md(h.get('interface')), _md(h.get('address')),
            _seen(h.get('capture'), 'request_seen'), _seen(h.get('capture'), 'reply_seen'),
            '**%s**' % h['status'] if h['status'] in ('fault', 'suspect') else h['status']))
    cap = report.get('capture') or {}
    if cap.get('captured_hops'):
        lines += ['', 'Request last seen at `%s`, reply last seen at `%s`.' % (cap.get('request_last_seen'), cap.get('reply_last_seen'))]
    lines += ['', '## Probes (ping ladder)', '', '| step | from | target | result | sent | received |', '| --- | --- | --- | --- | --- | --- |']
    for p in report['probes']:
        result = {True: 'ok', False: 'FAILED'}.get(p.get('ok'), '?')
        lines.append('| %s | %s | %s | %s | %s | %s |' % (
            _md(p['step']), _md(p.get('from_host')), _md(p.get('target')), result, _md(p.get('sent')), _md(p.get('received'))))
    if cap.get('moved_rules'):
        lines += ['', '## iptables rules whose counters moved during the probe', '']
        for r in cap['moved_rules']:
            lines.append('- %s: `%s`' % (_md(r.get('host')), _md(r.get('rule'))))
    lines += ['', '## Evidence', '']
    for e in v['evidence']:
        lines.append('- **%s** (%s):' % (_md(e['host']), _md(e['source'])))
        lines.append('')
        lines.append('  ```')
        for ln in str(e['excerpt']).splitlines() or ['']:
            lines.append('  ' + ln.replace('```', "'''"))
        lines.append('  ```')
    if report.get('problems'):
        lines += ['', '## Problems found in the facts', '']
        for p in report['problems']:
            lines.append('- %s %s `%s`: %s' % (_md(p['host']), _md(p.get('object')), _md(p['code']), _md(p['message'])))
    if v.get('notes'):
        lines += ['', '## Notes', ''] + ['- %s' % _md(n) for n in v['notes']]
    if report.get('timings'):
        lines += ['', '## Timings', ''] + ['- %s: %.2f s' % (k, t) for k, t in report['timings'].items()]
    lines.append('')
    return '\n'.join(lines)


# --------------------------------------------------------------------------------------------
# HTML with an SVG picture of the path
# --------------------------------------------------------------------------------------------

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}.verdict{padding:.6em 1em;border-radius:6px;margin:1em 0}
.verdict.ok{background:#e6f4ea;border:1px solid #34a853}.verdict.fault{background:#fdecea;border:1px solid #d93025}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:.9em;text-align:left}
pre{background:#f6f6f6;padding:.4em;margin:.2em 0;white-space:pre-wrap}
svg text{font-family:sans-serif}
"""

_FILL = {'fault': '#fdecea', 'suspect': '#fff4e5', 'ok': '#e6f4ea', 'unknown': '#f1f3f4'}
_STROKE = {'fault': '#d93025', 'suspect': '#f29900', 'ok': '#34a853', 'unknown': '#9aa0a6'}


def _e(s):
    return html.escape(str('' if s is None else s), quote=True)


def _svg(report):
    hops = report['hops']
    w, h, gap, x0, y0 = 150, 74, 34, 20, 50
    width = x0 * 2 + len(hops) * w + max(0, len(hops) - 1) * gap
    height = 200
    cap = report.get('capture') or {}
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" id="path-svg" role="img" width="%d" height="%d" viewBox="0 0 %d %d">' % (
        width, height, width, height)]
    parts.append('<title>%s</title>' % _e('Path of %s' % (report['instance'].get('hostname') or report['instance'].get('uuid'))))
    parts.append('<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" orient="auto">'
                 '<path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>')
    for i, hop in enumerate(hops):
        x = x0 + i * (w + gap)
        st = hop['status']
        cls = 'hop hop-%s%s' % (st, ' hop-failing' if st == 'fault' else '')
        parts.append('<g class="%s" id="hop-%s" data-hop-id="%s" data-kind="%s" data-status="%s">' % (
            _e(cls), _e(hop['id']), _e(hop['id']), _e(hop['kind']), _e(st)))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" rx="8" fill="%s" stroke="%s" stroke-width="%d"/>' % (
            x, y0, w, h, _FILL.get(st, '#fff'), _STROKE.get(st, '#999'), 4 if st == 'fault' else 2))
        parts.append('<text x="%d" y="%d" font-size="13" font-weight="bold" text-anchor="middle">%s</text>' % (
            x + w / 2, y0 + 20, _e(hop['kind'].replace('_', ' '))))
        parts.append('<text x="%d" y="%d" font-size="12" text-anchor="middle">%s</text>' % (
            x + w / 2, y0 + 38, _e((hop.get('interface') or hop.get('address') or '?')[:22])))
        parts.append('<text x="%d" y="%d" font-size="11" fill="#555" text-anchor="middle">%s</text>' % (
            x + w / 2, y0 + 55, _e((hop.get('host') or (hop.get('address') if hop.get('interface') else '') or '')[:24])))
        c = hop.get('capture')
        if c:
            marks = '%s %s' % ('req:' + ('yes' if c.get('request_seen') else 'no'), 'rep:' + ('yes' if c.get('reply_seen') else 'no'))
            parts.append('<text x="%d" y="%d" font-size="10" fill="#333" text-anchor="middle" class="capture-marks">%s</text>' % (
                x + w / 2, y0 + 69, _e(marks)))
        if st == 'fault':
            parts.append('<text x="%d" y="%d" font-size="13" fill="#d93025" font-weight="bold" text-anchor="middle" '
                         'class="failing-label">&#10007; %s</text>' % (x + w / 2, y0 + h + 22, _e(report['verdict']['cause'])))
        if cap.get('request_last_seen') == hop['id']:
            parts.append('<text x="%d" y="%d" font-size="11" fill="#1a73e8" text-anchor="middle" class="request-last-seen">'
                         '&#9660; request last seen</text>' % (x + w / 2, y0 - 22))
        if cap.get('reply_last_seen') == hop['id']:
            parts.append('<text x="%d" y="%d" font-size="11" fill="#188038" text-anchor="middle" class="reply-last-seen">'
                         '&#9660; reply last seen</text>' % (x + w / 2, y0 - 8))
        parts.append('</g>')
        if i + 1 < len(hops):
            parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-width="2" marker-end="url(#arrow)"/>' % (
                x + w, y0 + h / 2, x + w + gap - 2, y0 + h / 2))
    parts.append('<text x="%d" y="%d" font-size="11" fill="#555">legend: green ok, red failing hop, orange suspect '
                 'segment, grey not tested</text>' % (x0, height - 12))
    parts.append('</svg>')
    return '\n'.join(parts)


def to_html(report):
    v = report['verdict']
    inst = report['instance']
    title = 'Network diagnosis: %s' % (inst.get('hostname') or inst.get('uuid'))
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">', '<title>%s</title>' % _e(title),
           '<style>%s</style></head><body>' % _CSS, '<h1>%s</h1>' % _e(title)]
    out.append('<div class="verdict %s" id="verdict" data-status="%s" data-cause="%s" data-segment="%s">' % (
        _e(v['status']), _e(v['status']), _e(v['cause']), _e(v.get('segment'))))
    out.append('<strong>%s</strong> &mdash; segment <code>%s</code>, cause <code>%s</code><br>%s<br><strong>Next step:</strong> %s</div>' % (
        _e(v['status'].upper()), _e(v.get('segment')), _e(v['cause']), _e(v.get('summary')), _e(v.get('advice'))))
    out.append('<h2>Path</h2>')
    out.append(_svg(report))
    out.append('<table id="hops"><tr><th>#</th><th>hop</th><th>host</th><th>interface</th><th>address</th>'
               '<th>request seen</th><th>reply seen</th><th>status</th><th>notes</th></tr>')
    for h in report['hops']:
        out.append('<tr class="hop-row hop-%s"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td>%s</td><td>%s</td></tr>' % (
                       _e(h['status']), h['index'], _e(h['label']), _e(h.get('host')), _e(h.get('interface')), _e(h.get('address')),
                       _seen(h.get('capture'), 'request_seen'), _seen(h.get('capture'), 'reply_seen'), _e(h['status']),
                       _e('; '.join(h.get('notes') or []))))
    out.append('</table>')
    out.append('<h2>Evidence</h2><ul id="evidence">')
    for e in v['evidence']:
        out.append('<li><strong>%s</strong> (%s)<pre>%s</pre></li>' % (_e(e['host']), _e(e['source']), _e(e['excerpt'])))
    out.append('</ul>')
    out.append('<h2>Probes</h2><table id="probes"><tr><th>step</th><th>from</th><th>target</th><th>result</th></tr>')
    for p in report['probes']:
        out.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            _e(p['step']), _e(p.get('from_host')), _e(p.get('target')), {True: 'ok', False: 'FAILED'}.get(p.get('ok'), '?')))
    out.append('</table>')
    if report.get('problems'):
        out.append('<h2>Problems found in the facts</h2><ul id="problems">')
        for p in report['problems']:
            out.append('<li>%s %s <code>%s</code>: %s</li>' % (_e(p['host']), _e(p.get('object')), _e(p['code']), _e(p['message'])))
        out.append('</ul>')
    out.append('<p><small>generated %s by %s; instance uuid %s</small></p>' % (
        _e(report['generated_at']), _e(report['tool']), _e(inst.get('uuid'))))
    out.append('</body></html>')
    return '\n'.join(out) + '\n'
