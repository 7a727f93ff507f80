# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parallel, bounded ICMP echo probes through the system ping (iputils or busybox) (private).

Why subprocesses and not an ICMP socket of our own: ping is present on every host (busybox
included), runs unprivileged where the host allows it, and ``-c``/``-W`` bound each probe inside
the tool itself (the caller adds a deadline: SIGINT, which still prints the statistics); a raw socket needs CAP_NET_RAW and a datagram ICMP socket
needs ``net.ipv4.ping_group_range`` (``1 0``, i.e. disabled, in every new namespace). Both ping
flavours accept ``-p`` (iputils: up to 16 pattern bytes, busybox: one byte), which is how a
capture recognises the probe.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

_IPUTILS_STATS = re.compile(r'^(?P<sent>\d+) packets transmitted, (?P<recv>\d+) received'
                            r'(?:, \+(?P<dup>\d+) duplicates)?(?:, \+(?P<err>\d+) errors)?, (?P<loss>[\d.]+)% packet loss')
_BUSYBOX_STATS = re.compile(r'^(?P<sent>\d+) packets transmitted, (?P<recv>\d+) packets received'
                            r'(?:, (?P<dup>\d+) duplicates)?, (?P<loss>[\d.]+)% packet loss')
_RTT = re.compile(r'^(?:rtt|round-trip) min/avg/max(?:/mdev)? = (?P<min>[\d.]+)/(?P<avg>[\d.]+)/(?P<max>[\d.]+)')
_REPLY = re.compile(r'^\d+ bytes from (?P<addr>[^:]+): (?:icmp_)?seq=(?P<seq>\d+) ttl=(?P<ttl>\d+) time=(?P<time>[\d.]+) ms'
                    r'(?P<dup> \(DUP!\))?')
_ICMP_ERROR = re.compile(r'^From (?P<addr>\S+)(?: \([^)]*\))?:? icmp_seq=(?P<seq>\d+) (?P<text>.+)$')
_TOOL_ERROR = re.compile(r'^(?:\S*/)?ping: (?:(?:connect|sendto|sendmsg|bind|socket|SO_BINDTODEVICE)(?: [^:]*)?: )?(?P<text>.+)$')
_HEX = re.compile(r'^(?:[0-9a-fA-F]{2}){1,16}$')
_IPUTILS_MARK = 'iputils'


class PingError(Exception):
    """Invalid probe parameters."""


def detect_flavor(version_output):
    """``iputils`` when ``ping -V`` says so, else ``busybox`` (the only other ping we support)."""
    return 'iputils' if _IPUTILS_MARK in (version_output or '') else 'busybox'


def validate_pattern(pattern, flavor):
    """Check a ``-p`` payload pattern (hex) against what the ping flavour accepts."""
    if pattern in (None, ''):
        return None
    if not _HEX.match(pattern):
        raise PingError('payload_pattern %r must be 1 to 16 bytes written as hex digits (for example 6e64)' % (pattern,))
    if flavor == 'busybox' and len(pattern) != 2:
        raise PingError('busybox ping accepts a one-byte payload_pattern (two hex digits), not %r' % (pattern,))
    return pattern.lower()


def ping_argv(prefix, flavor, target, count, interval, timeout, pattern=None, size=None, source=None):
    """argv for one bounded probe. ``prefix`` is ``[ping]`` or ``[busybox, ping]``."""
    argv = list(prefix)
    if flavor == 'iputils':
        argv += ['-n']
    elif ':' in target:
        argv += ['-6']
    # No -w: with -w, iputils keeps sending past -c until the deadline when replies are missing.
    # -c and -W bound ping by themselves; the caller enforces ``deadline`` (SIGINT prints the stats).
    argv += ['-c', str(count), '-i', _num(interval), '-W', str(max(1, int(timeout + 0.999)))]
    if pattern:
        argv += ['-p', pattern]
    if size is not None:
        argv += ['-s', str(size)]
    if source:
        argv += ['-I', source]
    argv.append(target)
    return argv


def _num(value):
    text = ('%.3f' % float(value)).rstrip('0').rstrip('.')
    return text or '0'


def parse_ping(text, rc=None):
    """Parse iputils or busybox ping output. Returns counters, rtt, per-seq replies and the error text."""
    result = {'sent': 0, 'received': 0, 'duplicates': 0, 'icmp_errors': 0, 'loss_percent': 100.0,
              'rtt_min_ms': None, 'rtt_avg_ms': None, 'rtt_max_ms': None, 'replies': [], 'error': None,
              'reachable': False, 'flavor': None, 'resolved': None}
    errors = []
    stats_seen = False
    for raw in (text or '').splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith('PING '):
            match = re.match(r'^PING \S+ \((?P<addr>[^)]+)\)(?P<tail>.*)$', line)
            if match:
                result['resolved'] = match.group('addr')
                result['flavor'] = 'iputils' if 'bytes of data' in match.group('tail') else 'busybox'
            continue
        match = _REPLY.match(line)
        if match:
            result['replies'].append({'from': match.group('addr'), 'seq': int(match.group('seq')),
                                      'ttl': int(match.group('ttl')), 'time_ms': float(match.group('time')),
                                      'duplicate': bool(match.group('dup'))})
            continue
        match = _ICMP_ERROR.match(line)
        if match:
            errors.append('%s (from %s)' % (match.group('text').strip(), match.group('addr')))
            continue
        for pattern, flavor in ((_IPUTILS_STATS, 'iputils'), (_BUSYBOX_STATS, 'busybox')):
            match = pattern.match(line)
            if match:
                stats_seen = True
                result['flavor'] = result['flavor'] or flavor
                result['sent'] = int(match.group('sent'))
                result['received'] = int(match.group('recv'))
                result['duplicates'] = int(match.group('dup') or 0)
                if 'err' in match.groupdict():
                    result['icmp_errors'] = int(match.group('err') or 0)
                result['loss_percent'] = float(match.group('loss'))
                break
        else:
            match = _RTT.match(line)
            if match:
                result['rtt_min_ms'] = float(match.group('min'))
                result['rtt_avg_ms'] = float(match.group('avg'))
                result['rtt_max_ms'] = float(match.group('max'))
                continue
            match = _TOOL_ERROR.match(line)
            if match and 'statistics' not in line:
                errors.append(match.group('text').strip())
    if not stats_seen and result['replies']:
        result['received'] = len([r for r in result['replies'] if not r['duplicate']])
    result['reachable'] = result['received'] > 0
    if errors:
        result['error'] = errors[0]
    elif not result['reachable']:
        if stats_seen:
            result['error'] = 'no reply: %d sent, %d received' % (result['sent'], result['received'])
        else:
            result['error'] = 'ping gave no result (exit code %s)' % (rc,)
    return result


def run_parallel(argvs, deadline, env=None):
    """Start every argv at once; at ``deadline`` (epoch) SIGINT what still runs, SIGKILL 1 s later.

    Returns a list of ``(rc, stdout, stderr, interrupted)`` in argv order (rc None: could not start).
    """
    procs = []
    environ = dict(env if env is not None else os.environ, LC_ALL='C')
    for argv in argvs:
        try:
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          close_fds=True, env=environ))
        except OSError as exc:
            procs.append(exc)
    results = []
    for index, proc in enumerate(procs):
        if isinstance(proc, OSError):
            results.append((None, '', 'cannot run %s: %s' % (argvs[index][0], proc.strerror), False))
            continue
        interrupted = False
        try:
            out, err = proc.communicate(timeout=max(0.05, deadline - time.time()))
        except subprocess.TimeoutExpired:
            interrupted = True
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=1.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
        results.append((proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'), interrupted))
    return results


def summarize(target, rc, stdout, stderr, interrupted=False):
    """Parse one probe's output and add what only the exit status tells."""
    parsed = parse_ping(stdout + '\n' + stderr, rc)
    if rc is None:
        parsed['error'] = stderr.strip() or 'ping could not be started'
    elif parsed['error'] is None and rc not in (0, 1) and stderr.strip():
        parsed['error'] = stderr.strip().splitlines()[-1]
    parsed['target'] = target
    parsed['rc'] = rc
    parsed['deadline_reached'] = interrupted
    return parsed
