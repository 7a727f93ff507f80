# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``PlainResultModule``: an AnsibleModule that returns large plain-JSON results fast (private).

Fact modules such as ``interface_info`` (2000 interfaces) and ``iptables_info`` (50k rules) return
hundreds of thousands of values.  Measured at 2000 interfaces (docs/performance.md), the stock
``exit_json`` spends about 0.5 s in ``remove_values`` (a copy of the whole result made to mask
``no_log`` strings) and 0.18 s in the module JSON encoder, against 0.05 s for the netlink dump.

* When the module has no ``no_log`` value to hide (``self.no_log_values`` is empty), masking
  cannot change anything: ``remove_values`` is replaced, for the duration of this ``exit_json`` /
  ``fail_json`` call only, by the identity.  With any ``no_log`` value the stock path runs.
* The result is serialised with the standard library's C JSON encoder when it consists of plain
  JSON types only (what these modules return); anything else (warning objects, tagged values)
  makes it raise TypeError and falls back to Ansible's own encoder.

* Once the result is written, every object is frozen (``gc.freeze``): the collection that interpreter exit
  runs would otherwise walk the whole result once more.

Modules call ``exit_json``/``fail_json`` exactly as usual.
"""

from __future__ import annotations

import gc
import json
import sys

from ansible.module_utils import basic

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule


class PlainResultModule(NetdiagModule):
    """AnsibleModule with a fast result path for plain-JSON results and no no_log values."""

    def _return_formatted(self, kwargs):
        if self.no_log_values:
            return super(PlainResultModule, self)._return_formatted(kwargs)
        stock = basic.remove_values

        def remove_values(value, no_log_strings):
            if no_log_strings:
                return stock(value, no_log_strings)
            return value

        basic.remove_values = remove_values
        try:
            return super(PlainResultModule, self)._return_formatted(kwargs)
        finally:
            basic.remove_values = stock

    def _record_module_result(self, o):
        try:
            # plain JSON types only: anything else raises TypeError; module results are trees (no cycle check)
            text = json.dumps(o, check_circular=False)
        except (TypeError, ValueError, RecursionError):
            super(PlainResultModule, self)._record_module_result(o)
        else:
            sys.stdout.write('\n%s\n' % text)
        # The process exits next, and interpreter exit runs one last full collection over every object (the
        # result included) even with the GC off: frozen objects are left out of it (~15 ms at 2000 interfaces).
        gc.freeze()
