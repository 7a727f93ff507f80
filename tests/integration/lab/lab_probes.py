# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probes the lab tests use: every one sends real traffic inside the lab's namespaces, bounded."""

from __future__ import annotations

import json
import os
import re
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


def link_json(lab, host, dev):
    """``ip -j -d link show dev`` of ``dev`` inside lab host ``host`` (dict)."""
    return json.loads(sh(lab.ns(host), ['ip', '-j', '-d', 'link', 'show', 'dev', dev]).stdout)[0]


def addrs_json(lab, host, dev):
    """IPv4 ``local/prefixlen`` of ``dev`` inside lab host ``host``."""
    res = sh(lab.ns(host), ['ip', '-j', '-4', 'addr', 'show', 'dev', dev])
    assert res.returncode == 0, res.stderr
    return ['%s/%d' % (a['local'], a['prefixlen']) for info in json.loads(res.stdout) for a in info.get('addr_info', [])]


def assert_instance_port(lab, inst):
    """The instance's port is built as libvirt + nova-network build it: a ``vnetN`` veth on the compute node,
    port of the instance's bridge, whose peer is ``eth0`` inside the instance's namespace with the nova MAC
    (``fa:16:3e:..``) that the DB's virtual_interfaces row holds."""
    vnet = link_json(lab, inst['host'], inst['vnet'])
    eth0 = link_json(lab, inst['hostname'], 'eth0')
    assert re.match(r'^vnet\d+$', vnet['ifname']), vnet['ifname']
    assert vnet['linkinfo']['info_kind'] == 'veth' and eth0['linkinfo']['info_kind'] == 'veth'
    assert vnet.get('master') == inst['bridge'] and vnet['linkinfo'].get('info_slave_kind') == 'bridge', vnet['ifname']
    # each end names the other's ifindex, in another namespace
    assert vnet['link_index'] == eth0['ifindex'] and eth0['link_index'] == vnet['ifindex']
    assert 'link_netnsid' in vnet and 'link_netnsid' in eth0
    assert eth0['address'].startswith('fa:16:3e:') and eth0['address'] == inst['mac']
    rows = db_row(lab, 'SELECT v.address, v.deleted FROM virtual_interfaces v WHERE v.instance_uuid = %s', (inst['uuid'],))
    assert [(r['address'], r['deleted']) for r in rows] == [(eth0['address'], 0)]


SYSLOG_LINE = re.compile(r'^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d (?P<host>\S+) (?P<tag>dnsmasq(?:-dhcp)?)\[(?P<pid>\d+)\]: \S')


def assert_syslog_format(path, host):
    """Every line of a compute node's DHCP log is a syslog line of that host (``Mon dd hh:mm:ss host tag[pid]: ...``)."""
    with open(path) as f:
        lines = f.read().splitlines()
    assert lines, 'empty log %s' % path
    bad = [ln for ln in lines if not (SYSLOG_LINE.match(ln) and SYSLOG_LINE.match(ln).group('host') == host)]
    assert bad == [], bad[:3]
    assert any(SYSLOG_LINE.match(ln).group('tag') == 'dnsmasq-dhcp' for ln in lines)


def dnsmasq_argv(lab, cname, bridge):
    """The running dnsmasq of ``bridge`` on ``cname`` (its /proc cmdline) and the pid file's pid."""
    proc = lab.state['processes']['dnsmasq:%s:%s' % (cname, bridge)]
    with open('/proc/%d/cmdline' % proc['pid'], 'rb') as f:
        argv = f.read().decode().split('\0')[:-1]
    return proc['pid'], argv


def nova_dnsmasq_args(lab, cname, label):
    """nova-network's dnsmasq arguments (linux_net.restart_dhcp) for one network, as the issue lists them, then what the
    lab documents adding (multi_host's --no-hosts/--addn-hosts/--no-resolv/--server, and --log-facility for the log)."""
    comp = lab.model['computes'][cname]
    net = lab.model['networks'][label]
    nd = lab.compute_paths(cname)['networks']
    br = net['bridge']
    size = 2 ** (32 - net['prefixlen'])
    nova = ['--strict-order', '--bind-interfaces', '--conf-file=', '--domain=%s' % lab.model['dhcp_domain'],
            '--pid-file=%s/nova-%s.pid' % (nd, br), '--listen-address=%s' % comp['networks'][label], '--except-interface=lo',
            "--dhcp-range=set:'novanetwork',%s,static,120s" % net['dhcp_start'], '--dhcp-lease-max=%d' % size,
            '--dhcp-hostsfile=%s/nova-%s.conf' % (nd, br), '--leasefile-ro']
    extra = ['--no-hosts', '--addn-hosts=%s/nova-%s.hosts' % (nd, br), '--no-resolv',
             '--server=%s' % lab.model['external']['servers'][0]['address']]
    return nova, extra
