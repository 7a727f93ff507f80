# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network namespace helpers shared by the collection's modules (private).

Named namespaces are the files under /run/netns (what ``ip netns`` manages). A module that
takes a ``netns`` option either enters the namespace in-process (``enter_netns``, for netlink
work) or runs a command inside it (``netns_argv``, for tcpdump, ping, iptables-save).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re

NETNS_RUN_DIR = '/run/netns'
CLONE_NEWNET = 0x40000000
_VALID_NAME = re.compile(r'^[A-Za-z0-9_.@:+-]{1,255}$')


class NetnsError(Exception):
    """A namespace is missing, unreadable or cannot be entered."""


def validate_netns_name(name):
    """Return ``name`` if it is a plausible namespace name, else raise NetnsError."""
    if not isinstance(name, str) or not _VALID_NAME.match(name) or name in ('.', '..'):
        raise NetnsError('invalid network namespace name %r' % (name,))
    return name


def list_netns(run_dir=NETNS_RUN_DIR):
    """Names of the named network namespaces of this host, sorted."""
    try:
        return sorted(n for n in os.listdir(run_dir) if not n.startswith('.'))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise NetnsError('cannot list network namespaces in %s: %s' % (run_dir, exc.strerror))


def netns_path(name, run_dir=NETNS_RUN_DIR):
    """Path of a named namespace; NetnsError if it does not exist."""
    validate_netns_name(name)
    path = os.path.join(run_dir, name)
    if not os.path.exists(path):
        raise NetnsError('network namespace %s does not exist' % name)
    return path


def netns_argv(name, argv, ip_bin='ip'):
    """argv that runs ``argv`` inside namespace ``name`` (or as is when name is falsy)."""
    if not name:
        return list(argv)
    netns_path(name)
    return [ip_bin, 'netns', 'exec', name] + list(argv)


_libc = None


def _setns(fd, nstype):
    global _libc
    if hasattr(os, 'setns'):
        os.setns(fd, nstype)
        return
    if _libc is None:
        # the running interpreter's own symbols include libc's setns (find_library would run `ldconfig -p`)
        _libc = ctypes.CDLL(None, use_errno=True)
    if _libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def enter_netns(name, run_dir=NETNS_RUN_DIR):
    """Run the body with this thread inside namespace ``name``; always switch back.

    A falsy name leaves the current namespace unchanged.
    """
    if not name:
        yield
        return
    path = netns_path(name, run_dir)
    own = os.open('/proc/self/ns/net', os.O_RDONLY)
    try:
        try:
            target = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise NetnsError('cannot open network namespace %s: %s' % (name, exc.strerror))
        try:
            try:
                _setns(target, CLONE_NEWNET)
            except OSError as exc:
                raise NetnsError('cannot enter network namespace %s: %s' % (name, exc.strerror))
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(own, CLONE_NEWNET)
    finally:
        os.close(own)


def read_dump(module, name, netns=None, args=('-c',), env=None):
    """Run the ``*-save`` binary ``name`` (``iptables-save``, ``ebtables-save``...) with ``args`` in ``netns``, in
    the C locale: (stdout, stderr). NetnsError names the binary, the namespace and the exit status when it
    cannot run or fails; a binary that is not installed is reported by name as well."""
    path = module.get_bin_path(name)
    if not path:
        raise NetnsError('%s was not found on the target host' % name)
    ip_bin = (module.get_bin_path('ip') or 'ip') if netns else 'ip'
    argv = netns_argv(netns, [path] + list(args), ip_bin=ip_bin)
    rc, out, err = module.run_command(argv, environ_update=dict({'LC_ALL': 'C'}, **(env or {})))
    if rc != 0:
        raise NetnsError('%s failed%s (rc=%d): %s' % (name, ' in network namespace %s' % netns if netns else '', rc,
                                                      (err or out).strip()[:500]))
    return out, err


class StreamedDump(object):
    """The stdout of a ``*-save`` binary, as lists of lines while it is still printing (``chunks``), so that a parser
    works on the first tables while the binary dumps the last ones (two cores: iptables-nft-save spends most of its
    time fetching the ruleset from the kernel, then prints it).

    ``finish()`` waits for the binary and returns its stderr; NetnsError names the binary, the namespace and the exit
    status when it failed, as ``read_dump`` does.  Bounded: the binary ends when its output is read or on
    ``finish``'s drain; nothing outlives the module.
    """

    CHUNK = 262144

    def __init__(self, module, name, netns=None, args=('-c',), env=None):
        path = module.get_bin_path(name)
        if not path:
            raise NetnsError('%s was not found on the target host' % name)
        ip_bin = (module.get_bin_path('ip') or 'ip') if netns else 'ip'
        self.name = name
        self.netns = netns
        self.argv = netns_argv(netns, [path] + list(args), ip_bin=ip_bin)
        self.env = dict(os.environ, LC_ALL='C', **(env or {}))
        self.proc = None
        self._err = None

    def chunks(self):
        import subprocess
        import tempfile
        self._err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._err,
                                         env=self.env, close_fds=True)
        except OSError as exc:
            raise NetnsError('cannot run %s: %s' % (self.name, exc.strerror))
        fd = self.proc.stdout.fileno()
        tail = ''
        while True:
            block = os.read(fd, self.CHUNK)
            if not block:
                break
            lines = (tail + block.decode('utf-8', 'surrogateescape')).split('\n')
            tail = lines.pop()
            yield lines
        if tail:
            yield [tail]

    def finish(self):
        """Wait for the binary (reading what it still prints); its stderr, or NetnsError when it failed."""
        if self.proc is None:
            return ''
        while self.proc.stdout.read(self.CHUNK):
            pass
        self.proc.stdout.close()
        rc = self.proc.wait()
        self._err.seek(0)
        err = self._err.read().decode('utf-8', 'replace')
        self._err.close()
        if rc != 0:
            raise NetnsError('%s failed%s (rc=%d): %s' % (self.name, ' in network namespace %s' % self.netns if self.netns else '',
                                                          rc, err.strip()[:500]))
        return err
