# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sockets on the kernel's own tables, read in the ML2/OVS lab's namespaces (tests/unit/fixtures/sockets/): the router's
/proc/net/tcp (its metadata proxy listening on 9697, a connection in TIME_WAIT), the DHCP namespace's /proc/net/udp
and tcp6 (dnsmasq on 67, 53 and a link-local address)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _sockets

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'sockets')


def _read(name):
    with open(os.path.join(FIX, name), encoding='ascii') as f:
        return f.read()


def test_tcp_listener_and_a_connection():
    socks = _sockets.parse_proc_net(_read('qrouter.proc_net_tcp.txt'), 'tcp', 4)
    assert [(s['address'], s['port'], s['state']) for s in socks] == [('0.0.0.0', 9697, '0A'), ('10.2.0.1', 9697, '06')]
    assert [(s['address'], s['port']) for s in _sockets.listening(socks)] == [('0.0.0.0', 9697)]
    assert socks[0]['inode'] == 4359247


def test_udp_bound_and_tcp6_link_local():
    udp = _sockets.listening(_sockets.parse_proc_net(_read('qdhcp.proc_net_udp.txt'), 'udp', 4))
    assert {(s['address'], s['port']) for s in udp} >= {('0.0.0.0', 67), ('127.0.0.1', 53)}
    tcp6 = _sockets.listening(_sockets.parse_proc_net(_read('qdhcp.proc_net_tcp6.txt'), 'tcp', 6))
    assert ('::1', 53) in {(s['address'], s['port']) for s in tcp6}
    assert any(s['address'].startswith('fe80::f816:3eff:fe') and s['port'] == 53 for s in tcp6)


def test_garbage_is_named():
    with pytest.raises(_sockets.SocketError, match='not a /proc/net/tcp6 table'):
        _sockets.parse_proc_net('hello\n', 'tcp', 6)
    bad = _read('qrouter.proc_net_tcp.txt').replace('00000000:25E1', 'zz:25E1', 1)
    with pytest.raises(_sockets.SocketError, match='line 2 of /proc/net/tcp is not a socket'):
        _sockets.parse_proc_net(bad, 'tcp', 4)


def test_owners_of_this_process_socket():
    import socket
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        port = s.getsockname()[1]
        mine = [x for x in _sockets.listening(_sockets.read_tables(('tcp',))) if x['port'] == port]
        assert len(mine) == 1
        held = _sockets.owners([mine[0]['inode']], netns_inode=os.stat('/proc/self/ns/net').st_ino)
        assert [p['pid'] for p in held[mine[0]['inode']]] == [os.getpid()]
    finally:
        s.close()
