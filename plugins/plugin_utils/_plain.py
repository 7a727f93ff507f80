# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helper shared by the collection's filter and action plugins (private)."""

from __future__ import annotations


def plain(obj):
    """Ansible hands plugins its own container/str subclasses: return plain JSON types.

    dicts keep their values with keys made str, lists and tuples become lists, bool/None/int/float
    stay as they are (as the built-in types), anything else becomes its str().
    """
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None:
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    return str(obj)
