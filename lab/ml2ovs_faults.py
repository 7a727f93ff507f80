# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults of the ML2/OVS lab: real changes made with raw commands (ip, ovs-vsctl, ovs-ofctl, iptables, kill, SQL),
each recorded with what undoes it, as lab/faults.py does for nova-network."""

from __future__ import annotations

from lab.faults import apply, lookup, undo_all
from lab.ovn_faults import _inst

FAULTS = {}


def fault(fn):
    FAULTS[fn.__name__] = fn
    return fn


def inject(lab, name, target=None):
    return apply(lab, lookup(lab, FAULTS, name), _inst(lab, target))


def heal(lab):
    return undo_all(lab, globals())
