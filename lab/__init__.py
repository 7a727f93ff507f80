# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netdiag lab: a nova-network mini-cloud in network namespaces (see docs/lab.md).

Not part of the built collection. ``python -m lab up|down|status|fault|heal`` or::

    from lab import Lab
    lab = Lab('nd1')
    lab.up('seed')
    lab.fault('vnet_down', 'vm1')
    lab.heal()
    lab.down()
"""

from __future__ import annotations

from lab.core import Lab
from lab.sysutil import LabError

__all__ = ['Lab', 'LabError']
