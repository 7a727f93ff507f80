# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The probes' start_at: fire at an instant (inside a common capture window)
    DOCUMENTATION = r'''
options:
  start_at:
    description:
      - Wall-clock instant to send the probe at, as epoch seconds or ISO 8601 (without an offset the instant is UTC);
        the module waits until then, an instant in the past sends at once. At most 600 seconds in the future.
      - With captures opened by M(cloudops.netdiag.packet_capture) for a common window, the probe fires at a
        chosen instant inside it.
    type: str
'''
