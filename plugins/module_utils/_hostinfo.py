# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_info: several facts gatherers of the collection in one process, at the same time (private).

Each section is one facts module's gatherer (``_gather.GATHER``) run on its own options, validated with that module's
own argument spec.  A section that fails (bad option, missing binary, unreadable file) ends alone, as
``{failed: true, msg}``, exactly as the module would have failed; the others are unaffected.  Sections run in
threads: their commands (``iptables-save``, ``ebtables-save``, ``virsh``) and file reads wait at the same time.
"""

from __future__ import annotations

import concurrent.futures
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import _nul_paths
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import GATHER, SPECS

# the sections that have a network namespace option, and its type
NETNS_OPTION = {'interface_info': 'list', 'iptables_info': 'str', 'ebtables_info': 'str', 'dnsmasq_info': 'str', 'socket_info': 'str'}


class SectionFailed(Exception):
    """A section ended as its module would have ended with fail_json."""

    def __init__(self, msg):
        super(SectionFailed, self).__init__(msg)
        self.msg = msg


class Section(object):
    """The part of AnsibleModule a gatherer uses, for one section: fail_json ends the section only."""

    def __init__(self, module, name, params):
        self._module = module
        self.name = name
        self.params = params
        self.warnings = []

    def fail_json(self, msg, **kwargs):
        raise SectionFailed(msg)

    def warn(self, warning):
        self.warnings.append(warning)

    def run_command(self, *args, **kwargs):
        return self._module.run_command(*args, **kwargs)

    def get_bin_path(self, arg, required=False, opt_dirs=None):
        path = self._module.get_bin_path(arg, required=False, opt_dirs=opt_dirs)
        if required and not path:
            raise SectionFailed('Failed to find required executable "%s"' % arg)
        return path


def validate_options(spec, options, label):
    """(params, None) for ``options`` checked against ``spec`` (argument_spec, mutually_exclusive, required_one_of),
    with its defaults applied, or (None, message naming ``label``)."""
    validator = ArgumentSpecValidator(spec['argument_spec'], mutually_exclusive=spec.get('mutually_exclusive'),
                                      required_one_of=spec.get('required_one_of'))
    result = validator.validate(dict(options or {}))
    if result.error_messages:
        return None, '%s: %s' % (label, '; '.join(result.error_messages))
    params = result.validated_parameters
    for option, value in _nul_paths(spec['argument_spec'], params):
        return None, '%s: parameter %s: the path %r contains a NUL character' % (label, option, value)
    return params, None


def validate(name, options, netns=None):
    """(params, None) for the options of section ``name`` (the module's defaults applied), or (None, message)."""
    if name == 'routing':
        return {'netns': netns}, None
    options = dict(options or {})
    if netns and name in NETNS_OPTION and options.get('netns') is None:
        options['netns'] = [netns] if NETNS_OPTION[name] == 'list' else netns
    return validate_options(SPECS[name], options, name)


def _run(module, name, params):
    section = Section(module, name, params)
    start = time.monotonic()
    try:
        result = GATHER[name](section, params) if name != 'routing' else read_routing(params['netns'])
    except SectionFailed as exc:
        result = {'failed': True, 'msg': exc.msg}
    except Exception as exc:  # pylint: disable=broad-except
        # a section must not take the others down; name what broke
        result = {'failed': True, 'msg': '%s: unexpected %s: %s' % (name, type(exc).__name__, exc)}
    if section.warnings:
        result['warnings'] = section.warnings
    return result, time.monotonic() - start


def gather_sections(module, requested, netns=None):
    """``requested``: {section name: its options}.  Returns (facts by section, seconds by section)."""
    facts, seconds, todo = {}, {}, {}
    for name, options in requested.items():
        params, error = validate(name, options, netns)
        if error:
            facts[name], seconds[name] = {'failed': True, 'msg': error}, 0.0
        else:
            todo[name] = params
    if len(todo) == 1:
        name, params = next(iter(todo.items()))
        facts[name], seconds[name] = _run(module, name, params)
    elif todo:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(todo)) as pool:
            futures = {name: pool.submit(_run, module, name, params) for name, params in todo.items()}
            for name, future in futures.items():
                facts[name], seconds[name] = future.result()
    return facts, {k: round(v, 4) for k, v in seconds.items()}


def read_routing(netns=None):
    """IPv4 forwarding and the routing table of ``netns`` (default: the current namespace), as the kernel prints them.

    Read through /proc/thread-self: the thread may have entered ``netns`` while /proc/self follows the process."""
    from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, enter_netns
    out = {}
    try:
        with enter_netns(netns):
            for key, path in (('ip_forward', '/proc/sys/net/ipv4/ip_forward'), ('route', '/proc/thread-self/net/route')):
                try:
                    with open(path, encoding='ascii', errors='replace') as f:
                        out[key] = f.read()
                except OSError as exc:
                    raise SectionFailed('cannot read %s: %s' % (path, exc.strerror))
    except NetnsError as exc:
        raise SectionFailed(str(exc))
    out['ip_forward'] = out['ip_forward'].strip()
    return out
