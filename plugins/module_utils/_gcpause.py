# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``paused_gc()``: the cyclic garbage collector off while a large acyclic result is built (private).

Parsers that build hundreds of thousands of small dicts and lists (a netlink dump of 2000 interfaces,
50k iptables rules, a 1M-line DHCP log) trigger the cyclic collector again and again, although none
of those objects can be part of a cycle: it costs 15-60 % of their time (docs/performance.md).
Reference counting still frees everything as usual; only the cycle search waits.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused_gc(active=True):
    """Disable the cyclic GC for the block (when ``active``) and restore its previous state after it."""
    was_enabled = gc.isenabled()
    if active:
        gc.disable()
    try:
        yield
    finally:
        if active and was_enabled:
            gc.enable()
