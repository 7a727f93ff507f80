# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_domain_info's gatherer: domain XML through read-only virsh calls or from nova's XML files (private)."""

from __future__ import annotations

import math
import os
import time

from ansible_collections.cloudops.netdiag.plugins.module_utils._libvirt import (
    LibvirtError, check_domain_names, domain_problems, filter_domains, parse_domain_xml, parse_virsh_names,
    read_domain_dir, read_domain_file, select_domains, virsh_error)

DEFAULT_PATH = '/etc/libvirt/qemu'
TIMED_OUT = (124, 137)  # timeout(1): TERM sent at the deadline, or KILL 2 s later


class VirshTimeout(Exception):
    """The virsh time of this module run (option timeout) is used up."""


class Virsh(object):
    """Read-only virsh calls that share one deadline; each runs under timeout(1)."""

    def __init__(self, module, virsh, timeout_bin, uri, seconds):
        self.module = module
        self.base = [virsh, '-r'] + (['-c', uri] if uri else [])
        self.label = 'virsh -c %s' % uri if uri else 'virsh'
        self.timeout_bin = timeout_bin
        self.deadline = time.monotonic() + seconds

    def run(self, args):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise VirshTimeout()
        argv = [self.timeout_bin, '-k', '2', '%d' % max(1, math.ceil(left))] + self.base + args
        rc, out, err = self.module.run_command(argv, environ_update={'LC_ALL': 'C'})
        if rc in TIMED_OUT:
            raise VirshTimeout()
        return rc, out, err


def virsh_domains(module, vs, where, names):
    """(domains, None), or (None, why) when the domains cannot be listed; fails on a bad dumpxml."""
    # One listing, then one dumpxml per domain needed: only the named ones when every name is a
    # libvirt name, else all of them (nova display names are only inside the XML).
    rc, out, err = vs.run(['list', '--all', '--name'])
    if rc != 0:
        return None, virsh_error(err)
    listed = parse_virsh_names(out)
    if names and all(n in listed for n in names):
        todo = list(dict.fromkeys(names))
    else:
        todo = sorted(listed)
    domains = []
    for name in todo:
        try:
            rc, out, err = vs.run(['dumpxml', '--', name])
        except VirshTimeout:
            module.fail_json(msg='virsh dumpxml of domain %r on %s did not finish within %g s (option timeout)'
                             % (name, where, module.params['timeout']))
        if rc != 0:
            module.fail_json(msg='virsh dumpxml of domain %r on %s failed (rc %d): %s' % (name, where, rc, virsh_error(err)))
        domains.append(parse_domain_xml(out, '%s dumpxml %s' % (vs.label, name)))
    return domains, None


def read_files(path, pattern, is_default):
    if is_default or os.path.isdir(path):
        return read_domain_dir(path, pattern)
    return [read_domain_file(path)], []


def missing_message(missing, where, method, domains, errors):
    known = sorted(d['name'] or '?' for d in domains)
    msg = 'no libvirt domain named %s %s %s' % (', '.join(repr(n) for n in missing), 'on' if method == 'virsh' else 'in', where)
    msg += ' (%d domains there%s)' % (len(known), (': ' + ', '.join(known[:10]) + (', ...' if len(known) > 10 else '')) if known else '')
    if errors:
        msg += '; %d file(s) could not be parsed: %s' % (len(errors), ', '.join(e['path'] for e in errors[:5]))
    return msg


def gather_domains(module, p):
    """The result of libvirt_domain_info for options ``p`` (without ``changed``)."""
    names = p['name'] or []
    uri = p['uri'] or None
    bad = check_domain_names(names)
    if bad:
        module.fail_json(msg=bad)
    if not 0 < p['timeout'] <= 3600:
        module.fail_json(msg='timeout must be more than 0 and at most 3600 seconds, got %s' % p['timeout'])
    if uri and p['path'] and p['use_virsh']:
        module.fail_json(msg='uri (%s) and path (%s) exclude each other: uri reads domains through virsh, path reads '
                             'XML files (set use_virsh: false to read path)' % (uri, p['path']))
    path = p['path'] or DEFAULT_PATH

    need = None  # None: files; 'required' with uri; 'optional' on the default connection
    if not p['use_virsh']:
        if uri:
            module.warn('uri %s is ignored: use_virsh is false, domains are read from files' % uri)
    elif uri:
        need = 'required'
    elif names and not p['path']:
        need = 'optional'

    method = 'files'
    where = path
    domains = None
    errors = []
    try:
        virsh = module.get_bin_path('virsh') if need else None
        if need == 'required' and not virsh:
            module.fail_json(msg='uri %s needs virsh (package libvirt-clients or libvirt-client), which is not installed' % uri)
        if virsh:
            vs = Virsh(module, virsh, module.get_bin_path('timeout', required=True), uri, p['timeout'])
            conn = uri or "libvirt's default connection"
            try:
                domains, why = virsh_domains(module, vs, conn, names)
            except VirshTimeout:
                domains, why = None, 'no answer within %g s (option timeout)' % p['timeout']
            if domains is not None:
                method, where = 'virsh', conn
            elif need == 'required':
                module.fail_json(msg='cannot list the libvirt domains of %s with virsh: %s' % (conn, why))
            else:
                module.warn('virsh cannot list the domains of %s (%s); read the domain XML files of %s instead'
                            % (conn, why, path))
        if domains is None:
            domains, errors = read_files(path, p['pattern'], not p['path'])
    except LibvirtError as exc:
        module.fail_json(msg=str(exc))

    problems = domain_problems(domains, errors)
    if names:
        selected, missing = select_domains(domains, names)
        if missing:
            module.fail_json(msg=missing_message(missing, where, method, domains, errors), errors=errors)
        domains = selected
    domains = filter_domains(domains, macs=p['mac'], uuids=p['uuid'])
    return dict(method=method, domains=domains, errors=errors, problems=problems)
