# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small system helpers for the lab: commands, namespaces, processes (by pid only)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

ENV = dict(os.environ, LC_ALL='C', PATH='/usr/sbin:/usr/bin:/sbin:/bin')


class LabError(Exception):
    """A lab operation failed; the message names the object."""


def which(name):
    path = shutil.which(name, path=ENV['PATH'])
    if not path:
        raise LabError('%s not found (make deps installs the lab packages)' % name)
    return path


def run(argv, check=True, input=None, timeout=60, env=None):
    """Run argv (never a shell string); return CompletedProcess with text output."""
    try:
        res = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False,
                             timeout=timeout, env=env or ENV, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise LabError('%s timed out after %s s' % (' '.join(argv), timeout))
    if check and res.returncode != 0:
        raise LabError('%s failed (rc %d): %s' % (' '.join(argv), res.returncode, res.stderr.strip() or res.stdout.strip()))
    return res


def nsrun(ns, argv, **kw):
    return run(['ip', 'netns', 'exec', ns] + list(argv), **kw)


def ip_batch(ns, lines):
    """Run ``ip -n ns -batch -`` with ``lines`` (each an ``ip`` command without the leading ``ip``)."""
    if not lines:
        return
    argv = ['ip'] + (['-n', ns] if ns else []) + ['-batch', '-']
    run(argv, input='\n'.join(lines) + '\n')


def netns_list():
    try:
        return sorted(os.listdir('/run/netns'))
    except FileNotFoundError:
        return []


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    if not pid:
        return False
    try:
        with open('/proc/%d/stat' % int(pid)) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except (OSError, IndexError, ValueError):
        return False


def pid_cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % int(pid), 'rb') as f:
            return [a.decode('utf-8', 'replace') for a in f.read().split(b'\0') if a]
    except (OSError, ValueError):
        return []


def pid_matches(pid, needle):
    """True if pid is alive and ``needle`` (a string) is one of its arguments or part of one."""
    return pid_alive(pid) and any(needle in a for a in pid_cmdline(pid))


def kill_pid(pid, needle, sig=signal.SIGTERM, wait=3.0):
    """Signal pid only if its command line contains ``needle``; escalate to SIGKILL; wait until gone."""
    if not pid_matches(pid, needle):
        return False
    try:
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + wait
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if pid_alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 3
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    return True


def read_pidfile(path, wait=3.0):
    """Wait (bounded) for a pid file to hold a live pid; return it or None."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
            if pid and pid_alive(pid):
                return pid
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)


def write_file(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
