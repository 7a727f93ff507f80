# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probes the lab tests use: every one sends real traffic inside the lab's namespaces, bounded."""

from __future__ import annotations

import os
import select
import subprocess
import time


def sh(ns, argv, timeout=10):
    return subprocess.run(['ip', 'netns', 'exec', ns] + argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=dict(os.environ, LC_ALL='C'), check=False)


def ping(lab, host, dest, count=1, wait=1):
    """True if ``dest`` answers a ping sent from lab host ``host``."""
    res = sh(lab.ns(host), ['ping', '-n', '-c', str(count), '-W', str(wait), dest], timeout=count * wait + 5)
    return res.returncode == 0


def resolve(lab, host, name, server=None, timeout=3):
    """Addresses ``name`` resolves to through ``server`` (default: the instance's DHCP DNS server); [] on failure."""
    if server is None:
        server = dns_server(lab, host)
    try:
        qtype = [] if name.replace('.', '').isdigit() else ['-type=a']
        res = sh(lab.ns(host), ['busybox', 'nslookup'] + qtype + [name, server], timeout=timeout)
    except subprocess.TimeoutExpired:
        return []
    if res.returncode != 0:
        return []
    out = res.stdout.split('\n\n', 1)[-1]
    addrs = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('Address:') and '#' not in line and ':53' not in line:
            addrs.append(line.split()[-1])
        elif 'name = ' in line:
            addrs.append(line.split('name = ', 1)[1].rstrip('.'))
    return addrs


def dns_server(lab, host):
    with open(os.path.join(lab.hostdir(host), 'resolv.conf')) as f:
        for line in f:
            if line.startswith('nameserver'):
                return line.split()[1]
    raise AssertionError('no nameserver recorded for %s' % host)


def ipv4_of(lab, host, dev='eth0'):
    res = sh(lab.ns(host), ['ip', '-4', '-o', 'addr', 'show', 'dev', dev])
    return [ln.split()[3].split('/')[0] for ln in res.stdout.splitlines()]


def capture_sources(lab, capture_host, send, bpf, iface='eth0', count=1, timeout=5):
    """Run a bounded tcpdump on ``capture_host``, call ``send()``, return the source IPs captured."""
    proc = subprocess.Popen(['ip', 'netns', 'exec', lab.ns(capture_host), 'timeout', str(timeout), 'tcpdump', '-n', '-l',
                             '-i', iface, '-c', str(count), bpf], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 3
        err = ''
        while 'listening on' not in err and time.monotonic() < deadline:  # wait until tcpdump captures
            r, dummy1, dummy2 = select.select([proc.stderr], [], [], 0.2)
            if r:
                err += proc.stderr.readline()
        send()
        out, dummy = proc.communicate(timeout=timeout + 2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    srcs = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 3 and parts[1] == 'IP':
            srcs.append(parts[2])
    return srcs


def db_row(lab, sql, args=()):
    conn = lab.db_connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        conn.close()
