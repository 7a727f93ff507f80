# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side core of ``diagnose_instance``: the hop list and the verdict (private).

Pure functions, plain dicts in and out, no Ansible import: the same code runs inside the
``cloudops.netdiag.netdiag_*`` filters during a play and offline on saved evidence.

This module is the stable face of the pieces behind it:
``_facts`` (tolerant readers of the modules' results), ``_hops`` (hop list, ladder, capture),
``_model`` (the evidence model the rules read), ``_rules`` (the catalog: one rule per cause,
registered per backend) with ``_rules_nova_*`` (the nova-network rules), and ``_engine``
(evaluate every rule, rank what fired, say what could not be checked).

Nothing here knows the lab: every name (bridge, vnet, NIC, gateway) comes from the inputs.
"""

from __future__ import annotations

from ansible_collections.cloudops.netdiag.plugins.plugin_utils._engine import DEFAULT_BACKEND, cause_place, evaluate, fault_place
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._facts import (
    admin_up, default_route, has_carrier, instance_summary, interfaces_by_name, parse_proc_route)
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._hops import build_hops, ladder, normalise_probes
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._netfilter import _moved_rules, _rule_text
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._rules import SEGMENTS, rules_of

_RULES = rules_of(DEFAULT_BACKEND)
# derived from the catalog, never written twice
CAUSES = ('none',) + tuple(r.cause for r in _RULES) + ('unknown',)
CAUSE_SEGMENT = {r.cause: r.segment for r in _RULES}
PRIORITY = tuple(r.cause for r in _RULES)
CAUSE_PLACE = dict({r.cause: r.place for r in _RULES}, unknown=cause_place('unknown'))

__all__ = ['CAUSES', 'CAUSE_PLACE', 'CAUSE_SEGMENT', 'PRIORITY', 'SEGMENTS', 'admin_up', 'build_hops', 'default_route', 'evaluate',
           'fault_place', 'has_carrier', 'instance_summary', 'interfaces_by_name', 'ladder', 'normalise_probes', 'parse_proc_route',
           '_moved_rules', '_rule_text']
