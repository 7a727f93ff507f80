# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose report as a self-contained HTML page (private): no script, no external resource.

The page follows the Markdown report's order (verdict, place of the cause, next step and its
commands, instance, path, evidence, probes, moved rules, problems, notes, timings). The path is
drawn with HTML boxes in a wrapping flex layout: one group per host, one box per hop coloured by
what was observed there, the place of the cause marked as the fault (a hop, the network stack of a
host between two hops, the hops of a segment, or the nova database). It fits any width from a
phone to a wide screen without a horizontal scroll bar. Evidence items link to their hop or host,
hops and hosts link back to their evidence; each command of the advice is selected by one click.
"""

from __future__ import annotations

import html

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _report

_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#202124;overflow-wrap:anywhere}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.4em}
.verdict{padding:.6em 1em;border-radius:6px;margin:1em 0}
.verdict.ok{background:#e6f4ea;border:1px solid #34a853}.verdict.fault{background:#fdecea;border:2px solid #d93025}
.verdict p{margin:.3em 0}
table{border-collapse:collapse;margin:.5em 0;max-width:100%}
td,th{border:1px solid #ccc;padding:3px 6px;font-size:.9em;text-align:left;vertical-align:top;overflow-wrap:break-word}
table.fixed{table-layout:fixed;width:100%}table.fixed td,table.fixed th{overflow-wrap:anywhere}
tr.fault-row td{background:#fdecea;font-weight:bold}
pre{background:#f6f6f6;padding:.4em;margin:.2em 0;white-space:pre-wrap;overflow-wrap:anywhere}
ol.commands{padding-left:1.5em}
code.cmd{display:block;user-select:all;-webkit-user-select:all;white-space:pre-wrap;overflow-wrap:anywhere;
 background:#202124;color:#fff;padding:.35em .6em;border-radius:4px;margin:.2em 0;cursor:text}
.path{display:flex;flex-wrap:wrap;align-items:center;gap:.4em;margin:.6em 0}
.host{box-sizing:border-box;max-width:100%;border:1px solid #dadce0;border-radius:8px;padding:.3em .5em .5em;background:#fafafa}
.host.has-fault{border:3px solid #d93025;background:#fff7f6}
.host h3{font-size:.85em;margin:0 0 .3em;color:#3c4043}
.hops{display:flex;flex-wrap:wrap;align-items:center;gap:.3em}
.arrow{color:#5f6368;font-size:1.2em}
.hop,.place{box-sizing:border-box;width:10.5em;max-width:100%;min-height:5.6em;border:2px solid #bdc1c6;border-radius:8px;
 padding:.3em .4em;font-size:.85em;text-align:center}
.hop .kind{font-weight:bold;display:block}.hop .sub{color:#5f6368;font-size:.9em;display:block}
.hop .obs{display:block;font-size:.85em;margin-top:.15em}
.sw{display:inline-block;width:1.4em;height:.9em;border:2px solid #bdc1c6;border-radius:3px;vertical-align:middle;margin-right:.3em}
.obs-both{background:#e6f4ea;border-color:#34a853}
.obs-request_only,.obs-reply_only{background:#fef7e0;border-color:#f9ab00}
.obs-none,.obs-probe_failed,.obs-link_down{background:#e8eaed;border-color:#5f6368}
.obs-probe_ok,.obs-link_up{background:#fff;border-color:#34a853;border-style:dashed}
.obs-unknown{background:#fff;border-color:#bdc1c6;border-style:dotted;color:#5f6368}
.hop.off-path{opacity:.6}
.hop.fault{outline:4px solid #d93025;outline-offset:2px}
.hop.in-fault-segment{outline:3px dashed #d93025;outline-offset:2px}
.place{width:16em;background:#fdecea;border:4px solid #d93025;text-align:left}
.badge{display:block;background:#d93025;color:#fff;font-weight:bold;border-radius:4px;margin:.2em 0;padding:0 .3em;text-align:center}
.refs{display:block;font-size:.8em;margin-top:.15em}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1em;list-style:none;padding:0;font-size:.85em}
.sw.fault{border-color:#d93025;border-width:3px;background:#fdecea}
:target{box-shadow:0 0 0 4px #1a73e8}
"""

_LEGEND = ('both', 'request_only', 'none', 'probe_ok', 'link_up', 'unknown')


def _e(s):
    return html.escape(str('' if s is None else s), quote=True)


def _groups(hops):
    """Consecutive hops of one host, in path order: [(host, [hop, ...]), ...]."""
    out = []
    for h in hops:
        if out and out[-1][0] == h.get('host'):
            out[-1][1].append(h)
        else:
            out.append((h.get('host'), [h]))
    return out


def _ev_anchors(indexes):
    """Links to evidence items by their indexes (E1 E3)."""
    return ' '.join('<a href="#ev-%d">E%d</a>' % (i + 1, i + 1) for i in indexes or [])


def _refs(indexes):
    return '<span class="refs">evidence %s</span>' % _ev_anchors(indexes) if indexes else ''


def _hop_box(h, place, cause):
    obs = h.get('observed') or 'unknown'
    cls = ['hop', 'obs-%s' % obs, 'hop-%s' % h['status']] + ([] if h.get('on_path', True) else ['off-path'])
    badge = ''
    if h['status'] == 'fault':
        cls += ['fault', 'hop-failing']
        badge = '<span class="badge failing-label">&#10007; %s</span>' % _e(cause)
    elif h['status'] == 'suspect':
        cls.append('in-fault-segment')
        if h['id'] == place['hops'][0]:
            badge = '<span class="badge failing-label">&#10007; %s (this segment)</span>' % _e(cause)
    title = _report.OBSERVED.get(obs, obs) + ('; %s' % h['observed_why'] if h.get('observed_why') else '')
    return ('<div class="%s" id="hop-%s" data-hop-id="%s" data-kind="%s" data-status="%s" data-observed="%s" title="%s">'
            '%s<span class="kind">%s</span><span class="sub">%s</span><span class="obs">%s</span>%s</div>') % (
        ' '.join(cls), _e(h['id']), _e(h['id']), _e(h['kind']), _e(h['status']), _e(obs), _e(title), badge,
        _e(h['kind'].replace('_', ' ') + ('' if h.get('on_path', True) else ' (off path)')),
        _e(h.get('interface') or h.get('address') or '?'),
        _e(_report.OBSERVED.get(obs, obs)), _refs(h.get('evidence')))


def _place_box(place, cause):
    return ('<div class="place" id="place" data-kind="%s"><span class="badge failing-label">&#10007; %s</span>'
            '<strong>%s</strong><br>%s%s</div>') % (
        _e(place['kind']), _e(cause), _e(place.get('label')), _e(place.get('object') or ''),
        _refs(place.get('evidence')))


def _path(report):
    v = report['verdict']
    place = v.get('place') or {}
    cause = v.get('cause')
    host_ev = {}
    for i, e in enumerate(v['evidence']):
        if not e.get('hop') and not e.get('place') and e.get('kind') != 'capture':
            host_ev.setdefault(e['host'], []).append(i)
    out = ['<div class="path" id="path">']
    if place.get('kind') == 'db':
        out.append('<section class="host has-fault" id="host-db"><h3>nova DB (control plane)</h3><div class="hops">%s</div></section>'
                   % _place_box(place, cause))
        out.append('<span class="arrow">&#8594;</span>')
    seen_hosts = set()
    groups = _groups(report['hops'])
    for gi, (host, hops) in enumerate(groups):
        has_fault = any(h['status'] == 'fault' for h in hops) or (
            place.get('kind') == 'stack' and place.get('after') in [h['id'] for h in hops])
        first = host not in seen_hosts
        seen_hosts.add(host)
        out.append('<section class="host%s" id="host-%d" data-host="%s"><h3>%s%s</h3><div class="hops">' % (
            ' has-fault' if has_fault else '', gi, _e(host or ''), _e(host or 'network (no inventory host)'),
            _refs(host_ev.get(host) if first else None)))
        for hi, h in enumerate(hops):
            if hi:
                out.append('<span class="arrow">&#8594;</span>')
            out.append(_hop_box(h, place, cause))
            if place.get('kind') == 'stack' and place.get('after') == h['id']:
                out.append('<span class="arrow">&#8594;</span>')
                out.append(_place_box(place, cause))
        out.append('</div></section>')
        if gi + 1 < len(groups):
            out.append('<span class="arrow">&#8594;</span>')
    out.append('</div>')
    legend = ['<ul class="legend" id="legend">']
    for obs in _LEGEND:
        legend.append('<li><span class="sw obs-%s"></span>%s</li>' % (obs, _e(_report.OBSERVED[obs])))
    legend.append('<li><span class="sw fault"></span>where the cause lies (&#10007;)</li></ul>')
    return '\n'.join(out + legend)


def _ev_link(e, hops_by_id, host_anchors):
    text = _e(_report.ref_text(e, hops_by_id))
    if e.get('hop'):
        return '<a href="#hop-%s">%s</a>' % (_e(e['hop']), text)
    if e.get('place'):
        return '<a href="#place">%s</a>' % text
    if e.get('kind') == 'capture':
        return '<a href="#path">%s</a>' % text
    anchor = host_anchors.get(e.get('host'))
    return '<a href="%s">%s</a>' % (anchor, text) if anchor else text


def render(report):
    """The HTML page of a report built by ``_report.build_report``."""
    v = report['verdict']
    inst = report['instance']
    hops_by_id = {h['id']: h for h in report['hops']}
    host_anchors = {}
    for gi, (host, dummy) in enumerate(_groups(report['hops'])):
        host_anchors.setdefault(host, '#host-%d' % gi)
    place = v.get('place') or {}
    title = 'Network diagnosis: %s' % (inst.get('hostname') or inst.get('uuid'))
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">', '<title>%s</title>' % _e(title),
           '<style>%s</style></head><body>' % _CSS, '<h1>%s</h1>' % _e(title)]
    out.append('<div class="verdict %s" id="verdict" data-status="%s" data-cause="%s" data-segment="%s">' % (
        _e(v['status']), _e(v['status']), _e(v['cause']), _e(v.get('segment'))))
    out.append('<p><strong>%s</strong> &mdash; segment <code>%s</code>, cause <code>%s</code></p><p>%s</p>' % (
        _e(v['status'].upper()), _e(v.get('segment')), _e(v['cause']), _e(v.get('summary'))))
    if place:
        target = '#hop-%s' % place['hop'] if place.get('hop') else (
            '#hop-%s' % place['hops'][0] if place.get('kind') == 'segment' else '#place')
        out.append('<p id="where"><strong>Where:</strong> <a href="%s">%s</a></p>' % (_e(target), _e(_report.place_text(place))))
    out.append('<p><strong>Next step:</strong> %s</p>' % _e(v.get('advice')))
    if v.get('commands'):
        out.append('<ol class="commands" id="commands" title="one click selects a whole command">%s</ol>' % ''.join(
            '<li><code class="cmd">%s</code></li>' % _e(c) for c in v['commands']))
    out.append('</div>')
    out.append('<h2>Instance</h2><table id="instance"><tr><th>uuid</th><th>hostname</th><th>host</th><th>state</th>'
               '<th>fixed IPs</th><th>floating IPs</th></tr><tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>'
               '<td>%s</td></tr></table>' % (
                   _e(inst.get('uuid')), _e(inst.get('hostname')), _e(inst.get('host')), _e(inst.get('vm_state')),
                   _e(', '.join(str(f.get('address')) for f in inst.get('fixed_ips') or [])),
                   _e(', '.join(inst.get('floating_ips') or []))))
    out.append('<h2>Path</h2>')
    out.append(_path(report))
    cols = ''.join('<col style="width:%d%%">' % w for w in (3, 12, 9, 8, 10, 10, 6, 6, 6, 7, 23))
    out.append('<table id="hops" class="fixed"><colgroup>%s</colgroup><tr><th>#</th><th>hop</th><th>host</th><th>interface</th>'
               '<th>address</th><th>observed</th><th>request seen</th><th>reply seen</th><th>status</th><th>evidence</th>'
               '<th>why / notes</th></tr>' % cols)
    place_row = '<tr class="fault-row"><td></td><td>%s</td><td>%s</td><td colspan="5"></td><td>fault</td><td>%s</td><td>%s</td></tr>' % (
        _e(place.get('label')), _e(place.get('host')), _ev_anchors(place.get('evidence')), _e(place.get('object')))
    if place.get('kind') == 'db':
        out.append(place_row)
    for h in report['hops']:
        why = '; '.join(([h['observed_why']] if h.get('observed_why') else []) + list(h.get('notes') or []))
        out.append('<tr class="hop-row hop-%s%s"><td>%s</td><td><a href="#hop-%s">%s</a></td><td>%s</td><td>%s</td><td>%s</td>'
                   '<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
                       _e(h['status']), ' fault-row' if h['status'] == 'fault' else '', h['index'], _e(h['id']), _e(h['label']),
                       _e(h.get('host')), _e(h.get('interface')), _e(h.get('address')),
                       _e(_report.OBSERVED.get(h.get('observed'), h.get('observed'))),
                       _report.seen_text(h.get('capture'), 'request_seen'), _report.seen_text(h.get('capture'), 'reply_seen'),
                       _e(h['status']), _ev_anchors(h.get('evidence')),
                       _e(why)))
        if place.get('kind') == 'stack' and place.get('after') == h['id']:
            out.append(place_row)
    out.append('</table>')
    cap = report.get('capture') or {}
    if cap.get('captured_hops'):
        seen = {k: _e(cap[k]) for k in ('request_last_seen', 'reply_last_seen') if cap.get(k)}
        out.append('<p id="last-seen">%s</p>' % _report.last_seen_text(seen, code='<code>%s</code>'))
    out.append('<h2>Evidence</h2><ul id="evidence">')
    for n, e in enumerate(v['evidence'], 1):
        out.append('<li id="ev-%d" class="ev ev-%s"><strong>E%d %s</strong> (%s), at %s<pre>%s</pre></li>' % (
            n, _e(e.get('kind') or 'other'), n, _e(e['host']), _e(e['source']), _ev_link(e, hops_by_id, host_anchors), _e(e['excerpt'])))
    out.append('</ul>')
    out.append('<h2>Probes (ping ladder)</h2><table id="probes"><tr><th>step</th><th>from</th><th>target</th><th>result</th>'
               '<th>sent</th><th>received</th></tr>')
    for p in report['probes']:
        out.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>' % (
            _e(p['step']), _e(p.get('from_host')), _e(p.get('target')), {True: 'ok', False: 'FAILED'}.get(p.get('ok'), '?'),
            _e(p.get('sent')), _e(p.get('received'))))
    out.append('</table>')
    if cap.get('moved_rules'):
        out.append('<h2>iptables rules whose counters moved during the probe</h2><ul id="moved">%s</ul>' % ''.join(
            '<li>%s: <code>%s</code></li>' % (_e(r.get('host')), _e(r.get('rule'))) for r in cap['moved_rules']))
    if report.get('problems'):
        out.append('<h2>Problems found in the facts</h2><ul id="problems">%s</ul>' % ''.join(
            '<li>%s %s <code>%s</code>: %s</li>' % (_e(p['host']), _e(p.get('object')), _e(p['code']), _e(p['message']))
            for p in report['problems']))
    others = _report.also_fired(v)
    if others:
        out.append('<h2>Other causes that fired</h2><ul id="also">%s</ul>' % ''.join('<li><code>%s</code> (%s, %s)</li>' % (
            _e(c['cause']), _e(c.get('segment')), 'confirmed' if c.get('confirmed') else 'not confirmed') for c in others))
    if v.get('unchecked'):
        out.append('<h2>Not checked</h2><ul id="unchecked">%s</ul>' % ''.join(
            '<li><code>%s</code>: %s</li>' % (_e(u['cause']), _e(u['reason'])) for u in v['unchecked']))
    off = v.get('offline') or {}
    if off:
        out.append('<h2>Not checkable offline</h2><p>Read from the %s <code>%s</code>.</p><ul id="offline">%s</ul>' % (
            _e(off.get('kind')), _e(off.get('source')),
            ''.join('<li><code>%s</code>: %s</li>' % (_e(n['what']), _e(n['reason'])) for n in off.get('not_checkable') or [])))
    if v.get('notes') or off.get('notes'):
        out.append('<h2>Notes</h2><ul id="notes">%s</ul>' % ''.join(
            '<li>%s</li>' % _e(n) for n in (v.get('notes') or []) + list(off.get('notes') or [])))
    if report.get('timings'):
        out.append('<h2>Timings</h2><ul id="timings">%s</ul>' % ''.join(
            '<li>%s: %.2f s</li>' % (_e(k), t) for k, t in report['timings'].items()))
    out.append('<p><small>generated %s by %s; instance uuid %s</small></p>' % (
        _e(report['generated_at']), _e(report['tool']), _e(inst.get('uuid'))))
    out.append('</body></html>')
    return '\n'.join(out) + '\n'
