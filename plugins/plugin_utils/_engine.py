# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verdict engine (private): every rule of the backend on one evidence model, ranked.

A rule whose facts are missing is not guessed at: it is listed in ``unchecked`` with the reason.
A rule explained by a cause that fired is not evaluated. Of the rules that fired, the lowest-ranked
is the primary cause; an unconfirmed finding is primary only when the probes show the path broken.
The others are ``suspects`` (with their rule ids) so that the report shows every cause that fired.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import (
    _rules_ml2ovs, _rules_nova_dhcp, _rules_nova_dns, _rules_nova_l3, _rules_nova_link, _rules_ovn)
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import _first, path_mtu_note
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._hops import attach_capture, normalise_probes
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model import Model
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model_ml2ovs import Ml2OvsModel
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._model_ovn import OvnModel
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import ev, rules_of

# the modules whose import registers the rules of each backend
BACKENDS = {'nova-network': (_rules_nova_link, _rules_nova_l3, _rules_nova_dhcp, _rules_nova_dns), 'ovn': (_rules_ovn,),
            'ml2ovs': (_rules_ml2ovs,)}
# the evidence model each backend's rules read
MODELS = {'nova-network': Model, 'ovn': OvnModel, 'ml2ovs': Ml2OvsModel}
DEFAULT_BACKEND = 'nova-network'


def _kind(evidence, kind):
    """Copies of the evidence items marked with what they are: ``cause`` (behind the chosen cause),
    ``finding`` (some cause's evidence when none was chosen), ``probe`` or ``capture``."""
    return [dict(e, kind=kind) for e in evidence]


def run_rules(m, backend):
    """Evaluate the backend's rules: (fired {cause: candidate}, unchecked [..])."""
    fired, unchecked = {}, []
    for r in rules_of(backend):
        if r.when is not None and not r.when(m):
            continue
        if any(c in fired for c in r.explained_by):
            continue
        missing = [n for n in r.needs if not m.has(n)]
        if missing:
            unchecked.append({'rule': r.id, 'cause': r.cause, 'reason': m.why_missing(missing[0])})
            continue
        out = r.check(m)
        for f in (out if isinstance(out, list) else [out] if out else []):
            c = fired.get(r.cause)
            confirmed = f['confirmed'] if f['confirmed'] is not None else r.certainty == 'confirmed'
            if c is None:
                fired[r.cause] = {'rule': r.id, 'cause': r.cause, 'rank': r.rank, 'evidence': list(f['evidence']),
                                  'advice': f['advice'], 'hop': f['hop'], 'segment': f['segment'] or r.segment,
                                  'confirmed': confirmed, 'summary': f.get('summary')}
            else:
                c['evidence'].extend(f['evidence'])
                c['confirmed'] = c['confirmed'] or confirmed
    return fired, unchecked


def _notes(m, fired):
    notes = []
    mtu = path_mtu_note([(m.gname, m.gifs.get(m.gname) if m.gname else None)]
                        + [(h.get('interface'), m.cifs.get(h.get('interface')) if m.cifs else None)
                           for k in ('vnet', 'bridge', 'uplink') for h in m.hop_by_kind.get(k, [])])
    if mtu:
        notes.append(mtu)
    if m.dhcp_symptom and not any(c.startswith('dhcp_') or c == 'ebtables_drop' for c in fired):
        notes.append('DHCP symptom (no address / no lease in the console log) without a DHCP-side cause')
    if m.guest_dns_failed and 'dns_failure' not in fired and m.dns:
        notes.append('name resolution failed in the console log (%s) but the lookups through the instance\'s DNS server '
                     'succeed now' % ', '.join(m.clog_dns.get('names') or ['no name printed']))
    dcap = m.inputs.get('dns_capture')
    if isinstance(dcap, dict) and dcap.get('error') and 'dns_failure' in fired:
        notes.append('DNS capture not available: %s' % dcap['error'])
    notes.extend('could not read: %s' % e for e in m.fact_errors)
    if isinstance(m.inputs.get('capture'), dict) and m.inputs['capture'].get('error'):
        notes.append('capture not available: %s' % m.inputs['capture']['error'])
    return notes + ['audit: %s' % _first(f, 'message', 'code', default=f) for f in m.findings if f not in m.my_findings][:20]


def evaluate(inputs):
    """Turn the collected evidence into the verdict.

    ``inputs`` keys (all optional but ``instance``): ``backend`` (default nova-network), ``instance``
    (nova_network_info), ``audit`` (findings), ``compute_host``, ``guest_host``, ``hops`` (build_hops),
    ``hosts`` ({inventory_hostname: {interfaces, bridges, iptables, ebtables, dnsmasq, domains,
    nova_conf, console_log, routes, ip_forward}}), ``probes`` (ladder probes, each with a ``step``),
    ``capture`` (path_capture result), ``counters`` (moved iptables rules), ``ebtables_moved``,
    ``dhcp_probe``, ``dns`` (dns_probe results), ``dns_capture``, ``fact_errors``.
    Returns {status, segment, cause, rule, hop, summary, evidence, advice, suspects, unchecked, ladder,
    notes, capture, place}.
    """
    backend = inputs.get('backend') or DEFAULT_BACKEND
    if backend not in BACKENDS:
        raise ValueError('no rules for backend %r (known: %s)' % (backend, ', '.join(sorted(BACKENDS))))
    m = MODELS.get(backend, Model)(inputs)
    fired, unchecked = run_rules(m, backend)
    lad = m.ladder
    hops = m.hops
    cap_summary = attach_capture(hops, inputs.get('capture')) if hops else {}
    symptoms = m.symptoms()
    ranked = sorted(fired.values(), key=lambda c: c['rank'])
    chosen = next((c for c in ranked if c['confirmed'] or symptoms), None)
    ladder_ev = _kind([ev(p.get('from_host'), 'ping_probe', '%s: %s -> %s %s (sent %s, received %s)' % (
        p['step'], p.get('from_host'), p.get('target'), 'ok' if p['ok'] else ('FAILED' if p['ok'] is False else '?'),
        p.get('sent'), p.get('received'))) for p in normalise_probes(inputs.get('probes'))], 'probe')
    cap_ev = []
    if cap_summary.get('captured_hops'):
        cap_ev = _kind([ev('controller', 'path_capture', '%srequest last seen at %s, reply last seen at %s' % (
            (cap_summary['verdict'] + '; ') if cap_summary.get('verdict') else '',
            cap_summary.get('request_last_seen'), cap_summary.get('reply_last_seen')))], 'capture')
    if chosen:
        seg = chosen['segment']
        verdict = {
            'status': 'fault', 'segment': seg, 'cause': chosen['cause'], 'rule': chosen['rule'], 'hop': chosen.get('hop'),
            'summary': chosen.get('summary') or '%s: %s in segment %s' % (m.name, chosen['cause'].replace('_', ' '), seg),
            'evidence': _kind(chosen['evidence'], 'cause') + ladder_ev + cap_ev, 'advice': chosen['advice'],
        }
    elif symptoms:
        seg = lad.get('ladder_segment') or _capture_segment(hops, cap_summary) or 'instance_to_compute'
        if lad.get('external_ok') is False and lad.get('compute_ok') is False and lad.get('guest_second_instance'):
            advice = ('%s reaches the second instance but not its compute node: per the chapter, suspect the compute node\'s '
                      'firewall; read `iptables-save -c` on %s around the nova-network-INPUT chain.' % (m.name, m.on))
            seg = 'compute'
        else:
            advice = 'No single cause explains the symptoms; the evidence below locates the failing segment (%s). Capture by hand ' \
                     'along the hops from there.' % seg
        if unchecked:
            advice += ' Not checked: %s.' % '; '.join('%s (%s)' % (u['cause'], u['reason']) for u in unchecked[:4])
        verdict = {
            'status': 'fault', 'segment': seg, 'cause': 'unknown', 'rule': None, 'hop': None,
            'summary': '%s: path broken in segment %s, cause not identified' % (m.name, seg),
            'evidence': _kind([e for c in ranked for e in c['evidence']], 'finding') + ladder_ev + cap_ev, 'advice': advice,
        }
    elif inputs.get('offline'):
        verdict = {
            'status': 'ok', 'segment': None, 'cause': 'none', 'rule': None, 'hop': None,
            'summary': '%s: no fault found in the collected facts of %s (offline: nothing was probed)' % (m.name, m.on),
            'evidence': _kind([e for c in ranked for e in c['evidence']], 'finding'),
            'advice': 'Nothing in the reports explains a fault. What only the live hosts show is listed as not checkable '
                      'offline: run diagnose_instance.yml when they can be reached.',
        }
    else:
        if backend == 'nova-network':
            summary = '%s: the path to the outside works' % m.name
        else:
            summary = '%s: no fault on its path (%s)' % (m.name, backend)
            if unchecked:
                summary += '; %d cause(s) could not be checked, see unchecked' % len(unchecked)
        verdict = {
            'status': 'ok', 'segment': None, 'cause': 'none', 'rule': None, 'hop': None,
            'summary': summary,
            'evidence': ladder_ev + cap_ev, 'advice': 'Nothing to do on the network path.',
        }
    verdict['backend'] = backend
    verdict['suspects'] = [{'cause': c['cause'], 'rule': c['rule'], 'segment': c['segment'], 'confirmed': c['confirmed']}
                           for c in ranked]
    verdict['unchecked'] = unchecked
    verdict['ladder'] = lad
    verdict['notes'] = _notes(m, fired)
    verdict['capture'] = cap_summary
    verdict['place'] = fault_place(verdict, hops, m.chost)
    if inputs.get('offline'):
        verdict['offline'] = inputs['offline']
    return verdict


def cause_place(cause, backend=DEFAULT_BACKEND):
    """(kind, label) of a cause's place, from its rule."""
    if cause == 'unknown':
        return 'segment', 'cause not identified'
    for r in rules_of(backend):
        if r.cause == cause:
            return r.place
    return 'segment', str(cause)


def fault_place(verdict, hops, compute_host=None):
    """Where the cause of a fault verdict lies, for the report's picture; None when the verdict is ok.

    ``kind`` (the rule's place) and ``label``; ``host``; ``hop`` (the hop id, kind ``hop``);
    ``after`` (kind ``stack``: the hop after which the host's network stack is drawn, the last hop
    of that host on the instance's side, else its last); ``hops`` (kind ``segment``: the hops of
    the failing segment); ``object`` (what exactly: the interface, the rule, the log line).
    """
    if verdict.get('status') != 'fault':
        return None
    cause = verdict.get('cause')
    kind, label = cause_place(cause, verdict.get('backend') or DEFAULT_BACKEND)
    seg = verdict.get('segment')
    by_id = {h['id']: h for h in hops}
    cause_ev = [e for e in verdict.get('evidence') or [] if e.get('kind') == 'cause']
    place = {'kind': kind, 'label': label, 'host': None, 'hop': None, 'after': None, 'hops': [],
             'object': str(cause_ev[0]['excerpt'])[:240] if cause_ev else None}
    if kind == 'hop':
        h = by_id.get(verdict.get('hop'))
        if h is not None:
            place.update(host=h.get('host'), hop=h['id'], object=h.get('interface') or h.get('address') or place['object'])
            return place
        kind = place['kind'] = 'segment'
    if kind == 'segment':
        place['hops'] = [h['id'] for h in hops if h.get('segment') == seg and h.get('on_path', True)]
        place['host'] = compute_host
        if place['hops']:
            return place
        kind = place['kind'] = 'stack'
    if kind == 'stack':
        if cause == 'dns_failure' and seg == 'beyond_gateway':
            gws = [h for h in hops if h.get('kind') == 'gateway']
            place.update(label='upstream DNS server of dnsmasq', after=gws[-1]['id'] if gws else None)
            return place
        host = next((e['host'] for e in cause_ev if e.get('host') not in (None, 'controller', 'nova-db')), compute_host)
        mine = [h for h in hops if h.get('host') == host]
        inner = [h for h in mine if h.get('segment') in ('instance', 'instance_to_compute') and h.get('on_path', True)]
        place['host'] = host
        place['after'] = (inner or mine)[-1]['id'] if (inner or mine) else None
        return place
    # the database the cause lies in, as its evidence names it (nova-db, neutron-db, ovn-nb, ...)
    place['host'] = next((e['host'] for e in cause_ev if str(e.get('host', '')).endswith(('-db', '-nb', '-sb'))), 'nova-db')
    return place


def _capture_segment(hops, cap_summary):
    last = cap_summary.get('request_last_seen') if cap_summary else None
    if not last:
        return None
    for h in hops:
        if h['id'] == last:
            return h.get('segment')
    return None
