# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listening sockets of a network namespace (private), from the kernel's /proc/net tables.

``parse_proc_net(text, protocol, family)`` reads one of /proc/net/{tcp,tcp6,udp,udp6}; ``listeners(netns)`` reads them
inside a namespace (``/proc/thread-self/net``: the calling thread's namespace, so it works in host_info's threads) and
keeps the listening TCP sockets and the bound UDP ones; ``owners(inodes, netns_inode)`` finds the processes holding
them (their open file descriptors ``socket:[inode]``), among the processes of that namespace only.
"""

from __future__ import annotations

import os
import socket
import struct

# the kernel's socket states (include/net/tcp_states.h): LISTEN for TCP, CLOSE (unconnected) for a bound UDP socket
_TCP_LISTEN = '0A'
_UDP_BOUND = '07'


class SocketError(Exception):
    """A /proc/net table cannot be read or is not one."""


def _addr(hexaddr, family):
    """'0100007F:1F90' -> ('127.0.0.1', 8080); the kernel writes the address in host byte order, 32 bits at a time."""
    host, dummy, port = hexaddr.partition(':')
    raw = bytes.fromhex(host)
    if family == 4:
        packed = struct.pack('=I', struct.unpack('>I', raw)[0])
        return socket.inet_ntop(socket.AF_INET, packed), int(port, 16)
    words = struct.unpack('>4I', raw)
    packed = b''.join(struct.pack('=I', w) for w in words)
    return socket.inet_ntop(socket.AF_INET6, packed), int(port, 16)


def parse_proc_net(text, protocol, family):
    """The sockets of a /proc/net/{tcp,udp}[6] table: [{protocol, family, address, port, state, inode}]."""
    lines = (text or '').splitlines()
    if not lines or 'local_address' not in lines[0]:
        raise SocketError('not a /proc/net/%s%s table' % (protocol, '6' if family == 6 else ''))
    out = []
    for n, line in enumerate(lines[1:], 2):
        f = line.split()
        if len(f) < 10:
            continue
        try:
            address, port = _addr(f[1], family)
            inode = int(f[9])
        except (ValueError, struct.error, OSError):
            raise SocketError('line %d of /proc/net/%s%s is not a socket: %s' % (n, protocol, '6' if family == 6 else '', line[:120]))
        out.append({'protocol': protocol, 'family': family, 'address': address, 'port': port, 'state': f[3], 'inode': inode})
    return out


def listening(sockets):
    """The TCP sockets in LISTEN and the bound UDP sockets."""
    return [s for s in sockets if (s['protocol'] == 'tcp' and s['state'] == _TCP_LISTEN) or (s['protocol'] == 'udp' and s['state'] == _UDP_BOUND)]


def read_tables(protocols=('tcp', 'udp'), proc_net='/proc/thread-self/net'):
    """Every socket of the given protocols in the calling thread's namespace."""
    out = []
    for protocol in protocols:
        for family, suffix in ((4, ''), (6, '6')):
            path = os.path.join(proc_net, protocol + suffix)
            try:
                with open(path, encoding='ascii', errors='replace') as f:
                    text = f.read()
            except FileNotFoundError:
                continue        # a kernel without IPv6
            except OSError as exc:
                raise SocketError('cannot read %s: %s' % (path, exc.strerror))
            out.extend(parse_proc_net(text, protocol, family))
    return out


def owners(inodes, netns_inode=None, proc='/proc'):
    """{socket inode: [{pid, comm}]} for ``inodes``, among the processes whose network namespace is ``netns_inode``
    (every process when None). A process that ends while it is read is skipped."""
    want = set(inodes)
    found = {}
    if not want:
        return found
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        base = os.path.join(proc, name)
        try:
            if netns_inode is not None and os.stat(os.path.join(base, 'ns', 'net')).st_ino != netns_inode:
                continue
            fds = os.listdir(os.path.join(base, 'fd'))
        except OSError:
            continue
        hits = []
        for fd in fds:
            try:
                target = os.readlink(os.path.join(base, 'fd', fd))
            except OSError:
                continue
            if target.startswith('socket:['):
                inode = int(target[8:-1])
                if inode in want:
                    hits.append(inode)
        if not hits:
            continue
        try:
            with open(os.path.join(base, 'comm'), encoding='utf-8', errors='replace') as f:
                comm = f.read().strip()
        except OSError:
            comm = None
        for inode in hits:
            found.setdefault(inode, []).append({'pid': int(name), 'comm': comm})
    return found
