# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real nova-style dnsmasq in a namespace of our own, and DHCP clients in another one.

``dhcp_net`` creates namespaces ``tfh3<hex>s`` (bridge br100 192.168.100.1/24, port vnet0) and
``tfh3<hex>c`` (eth0, the veth peer; the pair is created directly between the two namespaces), a
state dir with ``nova-br100.conf`` (one known MAC), and starts dnsmasq inside the server namespace
with nova-network's argument set, logging to a file. Finalizer: kill the dnsmasq it started (by the
pid it recorded, after checking /proc says it is that dnsmasq) and delete both namespaces.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

KNOWN_MAC = 'fa:16:3e:56:0b:6f'
UNKNOWN_MAC = 'fa:16:3e:78:44:84'
QUIET_MAC = 'fa:16:3e:00:00:42'


def sh(*argv, check=True, timeout=30):
    return subprocess.run(list(argv), check=check, timeout=timeout, capture_output=True, text=True)


class DhcpNet(object):
    def __init__(self, base):
        tag = 'tfh3' + secrets.token_hex(3)
        self.srv = tag + 's'
        self.cli = tag + 'c'
        self.base = base
        self.state_dir = os.path.join(base, 'networks')
        self.log = os.path.join(base, 'syslog')
        self.pid_file = os.path.join(self.state_dir, 'nova-br100.pid')
        self.hosts_file = os.path.join(self.state_dir, 'nova-br100.conf')
        self.pids = []
        self.netns = []

    def up(self):
        os.makedirs(self.state_dir)
        os.chmod(self.base, 0o755)
        os.chmod(self.state_dir, 0o755)  # as nova's: dnsmasq (nobody) reads it but cannot remove its pid file
        with open(self.hosts_file, 'w') as f:
            f.write('%s,test.novalocal,192.168.100.3\n%s,quiet.novalocal,192.168.100.4\n' % (KNOWN_MAC, QUIET_MAC))
        for ns in (self.srv, self.cli):
            sh('ip', 'netns', 'add', ns)
            self.netns.append(ns)
        s = ('ip', '-n', self.srv)
        sh(*s, 'link', 'add', 'br100', 'type', 'bridge')
        sh(*s, 'link', 'add', 'vnet0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', self.cli)
        sh(*s, 'link', 'set', 'vnet0', 'master', 'br100')
        sh(*s, 'addr', 'add', '192.168.100.1/24', 'dev', 'br100')
        for dev in ('lo', 'br100', 'vnet0'):
            sh(*s, 'link', 'set', dev, 'up')
        sh('ip', '-n', self.cli, 'link', 'set', 'lo', 'up')
        self.start_dnsmasq()

    def dnsmasq_argv(self):
        return ['dnsmasq', '--strict-order', '--bind-interfaces', '--conf-file=', '--domain=novalocal',
                '--pid-file=%s' % self.pid_file, '--listen-address=192.168.100.1', '--except-interface=lo',
                "--dhcp-range=set:'novanetwork',192.168.100.2,static,120s", '--dhcp-lease-max=256',
                '--dhcp-hostsfile=%s' % self.hosts_file, '--leasefile-ro', '--user=nobody',
                '--log-facility=%s' % self.log]

    def start_dnsmasq(self):
        sh('ip', 'netns', 'exec', self.srv, *self.dnsmasq_argv())
        for _i in range(50):
            if os.path.exists(self.pid_file):
                with open(self.pid_file) as f:
                    txt = f.read().strip()
                if txt.isdigit():
                    self.pids.append(int(txt))
                    return int(txt)
            time.sleep(0.1)
        raise RuntimeError('dnsmasq did not write %s' % self.pid_file)

    def _ours(self, pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                return ('--pid-file=%s' % self.pid_file).encode() in f.read()
        except OSError:
            return False

    @staticmethod
    def _gone(pid):
        try:
            with open('/proc/%d/stat' % pid) as f:
                return f.read().rpartition(')')[2].split()[0] in ('Z', 'X')
        except OSError:
            return True

    def kill_dnsmasq(self, pid):
        if self._ours(pid):
            os.kill(pid, signal.SIGTERM)
            for _i in range(100):
                if self._gone(pid):
                    return
                time.sleep(0.05)

    def udhcpc(self, mac, tries=3):
        sh('ip', '-n', self.cli, 'link', 'set', 'eth0', 'down')
        sh('ip', '-n', self.cli, 'link', 'set', 'eth0', 'address', mac)
        sh('ip', '-n', self.cli, 'link', 'set', 'eth0', 'up')
        r = sh('ip', 'netns', 'exec', self.cli, 'busybox', 'udhcpc', '-i', 'eth0', '-n', '-q', '-t', str(tries),
               '-T', '1', '-s', '/bin/true', check=False, timeout=30)
        out = os.path.join(self.base, 'console-%s.log' % mac.replace(':', ''))
        with open(out, 'w') as f:
            f.write(r.stdout + r.stderr)
        return out

    def hup(self, pid):
        if self._ours(pid):
            os.kill(pid, signal.SIGHUP)

    def down(self):
        for pid in self.pids:
            self.kill_dnsmasq(pid)
        for ns in self.netns:
            sh('ip', 'netns', 'del', ns, check=False)


@pytest.fixture
def dhcp_net():
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces, dnsmasq)')
    for tool in ('dnsmasq', 'busybox', 'ip'):
        if not shutil.which(tool):
            pytest.skip('%s not installed' % tool)
    # not under pytest's tmp_path: its parents are mode 0700 and dnsmasq reads its hosts file as nobody
    base = tempfile.mkdtemp(prefix='tfh3-')
    net = DhcpNet(base)
    try:
        net.up()
        yield net
    finally:
        net.down()
        shutil.rmtree(base, ignore_errors=True)
