# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rule catalog of the verdict engine (private).

One rule per cause. A rule is a small function of the evidence model (``_model.Model``) that
returns ``None`` (did not fire) or one or more findings, registered with ``@rule(...)`` together
with what the docs and the engine need to know of it: the cause it names, its segment and place,
the facts it needs, the causes that explain it away, how it is detected, what it cites, what it
advises, how sure it is and the tests that prove it. ``docs/causes.md`` is generated from these
records (``tools/gen_causes.py``), never written by hand.

Backends (``nova-network`` today) register their rules under their own name; the engine evaluates
the rules of the backend the evidence belongs to.
"""

from __future__ import annotations

SEGMENTS = ('instance', 'instance_to_compute', 'compute', 'compute_to_gateway', 'beyond_gateway', 'control_plane')
PLACE_KINDS = ('hop', 'stack', 'segment', 'db')
CERTAINTY = {
    'confirmed': 'the evidence shows the fault itself (a state, a rule that fired, a log line)',
    'likely': 'the evidence fits the fault but does not prove it alone; primary only when the probes fail',
}

# backend -> [Rule], in rank order once sorted
REGISTRY = {}


class Rule(object):
    """One cause's detection and its documentation."""

    __slots__ = ('id', 'backend', 'cause', 'rank', 'segment', 'place', 'needs', 'when', 'explained_by', 'title',
                 'detects', 'cites', 'advice', 'certainty', 'tests', 'check')

    def __init__(self, check, **kw):
        self.check = check
        for k in self.__slots__:
            if k != 'check':
                setattr(self, k, kw.get(k))

    def as_doc(self):
        """The rule's documentation record (what docs/causes.md shows)."""
        return {k: getattr(self, k) for k in self.__slots__ if k not in ('check', 'when')}


def rule(backend, cause, rank, segment, place, title, detects, cites, advice, tests, needs=(), when=None, explained_by=(),
         certainty='confirmed'):
    """Register the decorated function as the rule of ``cause`` for ``backend``.

    ``needs``: facts of the model (``Model.has``) the rule cannot run without; an alternative is
    written ``a|b``. ``when``: a predicate of the model, False when the rule does not apply to this
    instance at all (no floating IP, nothing probed). ``explained_by``: causes which, when they
    fire, explain this one's symptom (the rule is then not evaluated). ``rank``: lower is more
    fundamental; the primary cause is the lowest-ranked one that fired.
    """
    if segment not in SEGMENTS or place[0] not in PLACE_KINDS or certainty not in CERTAINTY:
        raise ValueError('rule %s: bad segment, place or certainty' % cause)

    def deco(fn):
        r = Rule(fn, id='%s.%s' % (backend, cause), backend=backend, cause=cause, rank=rank, segment=segment,
                 place=tuple(place), needs=tuple(needs), when=when, explained_by=tuple(explained_by), title=title,
                 detects=detects, cites=cites, advice=advice, certainty=certainty, tests=tuple(tests))
        rules = REGISTRY.setdefault(backend, [])
        if any(x.cause == cause for x in rules):
            raise ValueError('rule %s registered twice' % r.id)
        rules.append(r)
        rules.sort(key=lambda x: x.rank)
        fn.rule = r
        return fn
    return deco


def rules_of(backend):
    """The rules of ``backend`` in rank order (empty for an unknown backend)."""
    return list(REGISTRY.get(backend, []))


def finding(evidence, advice, hop=None, segment=None, confirmed=None, summary=None):
    """What a rule returns when it fires: the evidence it cites, the advice, and optionally the hop,
    a segment other than the rule's own, whether it is confirmed (None: as the rule's certainty says), and a
    more precise summary."""
    return {'evidence': [e for e in evidence if e], 'advice': advice, 'hop': hop, 'segment': segment,
            'confirmed': confirmed, 'summary': summary}


def ev(host, source, excerpt):
    """One evidence item: where it was read, by what, and the excerpt itself."""
    return {'host': host or 'controller', 'source': source, 'excerpt': str(excerpt)}


def ev_lines(events, limit=4):
    """The last ``limit`` log events (strings or dicts with ``line``) as one excerpt."""
    out = []
    for e in events[-limit:]:
        if isinstance(e, dict):
            out.append(str(e.get('line') or e.get('raw') or e.get('message') or e))
        else:
            out.append(str(e))
    return '\n'.join(out)
