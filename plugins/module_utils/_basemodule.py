# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``NetdiagModule``: the AnsibleModule every module of the collection is built on (private).

AnsibleModule logs its invocation (every parameter) to syslog or the journal before the module's own
code runs.  Since Python 3.12 ``syslog.syslog()`` refuses a message with a NUL character, so a hostile
parameter such as an instance name ``web\\x0001`` made AnsibleModule fail with "Failed to log to syslog
(embedded null character)" before the module could name the bad parameter.  ``log()`` here writes
NUL characters as the four characters ``\\x00``: the log keeps the evidence, and the module's own
validation gives its clear message.

A path parameter with a NUL character cannot name a file (``open()`` raises ValueError, which was a
traceback in modules that read files): it is refused here, once for every module, naming the parameter.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def _escape_nul(value):
    if isinstance(value, str):
        return value.replace('\x00', '\\x00')
    if isinstance(value, bytes):
        return value.replace(b'\x00', b'\\x00')
    return value


def _nul_paths(argument_spec, params):
    """(option, value) of every path parameter (or element of a list of paths) holding a NUL character."""
    for name, spec in argument_spec.items():
        value = params.get(name)
        if value is None:
            continue
        if spec.get('type') == 'path' and '\x00' in value:
            yield name, value
        elif spec.get('type') == 'list' and spec.get('elements') == 'path':
            for item in value:
                if item is not None and '\x00' in item:
                    yield name, item


class NetdiagModule(AnsibleModule):
    """AnsibleModule whose log lines never carry a NUL character and whose paths never hold one."""

    def __init__(self, *args, **kwargs):
        super(NetdiagModule, self).__init__(*args, **kwargs)
        for name, value in _nul_paths(self.argument_spec, self.params):
            self.fail_json(msg='parameter %s: the path %r contains a NUL character' % (name, value))

    def log(self, msg, log_args=None):
        if log_args:
            log_args = dict((k, _escape_nul(v)) for k, v in log_args.items())
        return super(NetdiagModule, self).log(_escape_nul(msg), log_args)
