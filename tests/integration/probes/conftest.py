# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A three-namespace path for the probe and capture tests, until the lab's ``lab_factory`` covers it.

instance ns (eth0 10.0.2.24, MAC fa:16:3e:00:00:24)
  <-> veth <-> compute ns (vnet0 in bridge br100 10.0.2.1, dnsmasq on br100 with a nova-style
               static range and hosts file, eth1 203.0.113.34, SNAT 10.0.2.24 -> 203.0.113.30)
  <-> veth <-> external ns (eth0 203.0.113.1, the "external server" 198.51.100.4 on lo)

Everything is created inside namespaces with a unique prefix and removed by the finalizer; the
default namespace is never touched. Needs root, tcpdump, dnsmasq, busybox.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_PY = os.path.join(REPO, '.venv', 'bin', 'python')
PYTHON = VENV_PY if os.path.exists(VENV_PY) else sys.executable
INSTANCE_MAC = 'fa:16:3e:00:00:24'


def sh(*argv, check=True):
    res = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise RuntimeError('%s failed: %s' % (' '.join(argv), res.stderr.strip()))
    return res


def _need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if os.geteuid() != 0:
        pytest.skip('needs root')
    if missing:
        pytest.skip('needs %s' % ', '.join(missing))


class ProbeNet(object):
    """Names and helpers of one built path."""

    def __init__(self, prefix, workdir):
        self.prefix = prefix
        self.workdir = workdir
        self.inst = prefix + '-inst'
        self.cmp = prefix + '-cmp'
        self.ext = prefix + '-ext'
        self.dnsmasq_pids = []
        self.dnsmasq_log = os.path.join(workdir, 'dnsmasq.log')
        self.hostsfile = os.path.join(workdir, 'nova-br100.conf')

    def ns(self, name, *argv, check=True):
        return sh('ip', 'netns', 'exec', name, *argv, check=check)

    def run_module(self, module, args, timeout=120):
        """Run a module of the collection as Ansible runs it (own process, JSON args file)."""
        path = os.path.join(self.workdir, 'args-%s.json' % uuid.uuid4().hex[:8])
        with open(path, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
        env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.venv', 'collections'))
        res = subprocess.run([PYTHON, '-m', 'ansible_collections.cloudops.netdiag.plugins.modules.%s' % module, path],
                             capture_output=True, text=True, timeout=timeout, env=env, check=False)
        os.unlink(path)
        try:
            return json.loads(res.stdout)
        except ValueError:
            raise AssertionError('module %s printed no JSON: %s %s' % (module, res.stdout, res.stderr))

    def start_dnsmasq(self, extra=()):
        pid_file = os.path.join(self.workdir, 'dnsmasq-%d.pid' % len(self.dnsmasq_pids))
        self.ns(self.cmp, 'dnsmasq', '--strict-order', '--bind-interfaces', '--conf-file=', '--pid-file=' + pid_file,
                '--listen-address=10.0.2.1', '--except-interface=lo',
                '--dhcp-range=set:novanetwork,10.0.2.2,static,120s', '--dhcp-lease-max=256',
                '--dhcp-hostsfile=' + self.hostsfile, '--dhcp-leasefile=' + os.path.join(self.workdir, 'leases'),
                '--no-resolv', '--no-hosts', '--domain=novalocal', '--local=/novalocal/',
                '--host-record=openstack.test,203.0.113.80', '--log-facility=' + self.dnsmasq_log, '--log-dhcp',
                *extra)
        for _i in range(50):
            if os.path.exists(pid_file) and open(pid_file).read().strip():
                break
            time.sleep(0.05)
        self.dnsmasq_pids.append(int(open(pid_file).read().strip()))

    def stop_dnsmasq(self):
        for pid in self.dnsmasq_pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _i in range(100):
                if not os.path.exists('/proc/%d' % pid):
                    break
                time.sleep(0.05)
        self.dnsmasq_pids = []


def build(prefix, workdir):
    net = ProbeNet(prefix, workdir)
    os.chmod(workdir, 0o755)  # dnsmasq reads its hosts file as nobody
    for name in (net.inst, net.cmp, net.ext):
        sh('ip', 'netns', 'add', name)
        sh('ip', '-n', name, 'link', 'set', 'lo', 'up')
    sh('ip', '-n', net.inst, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'vnet0', 'netns', net.cmp)
    sh('ip', '-n', net.cmp, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', net.ext)
    sh('ip', '-n', net.cmp, 'link', 'add', 'br100', 'type', 'bridge')
    sh('ip', '-n', net.cmp, 'link', 'set', 'vnet0', 'master', 'br100')
    for link in ('vnet0', 'br100', 'eth1'):
        sh('ip', '-n', net.cmp, 'link', 'set', link, 'up')
    sh('ip', '-n', net.inst, 'link', 'set', 'eth0', 'address', INSTANCE_MAC, 'up')
    sh('ip', '-n', net.ext, 'link', 'set', 'eth0', 'up')
    sh('ip', '-n', net.cmp, 'addr', 'add', '10.0.2.1/24', 'dev', 'br100')
    sh('ip', '-n', net.cmp, 'addr', 'add', '203.0.113.34/24', 'dev', 'eth1')
    sh('ip', '-n', net.cmp, 'addr', 'add', '203.0.113.30/32', 'dev', 'eth1')
    sh('ip', '-n', net.inst, 'addr', 'add', '10.0.2.24/24', 'dev', 'eth0')
    sh('ip', '-n', net.inst, 'route', 'add', 'default', 'via', '10.0.2.1')
    sh('ip', '-n', net.ext, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0')
    sh('ip', '-n', net.ext, 'addr', 'add', '198.51.100.4/32', 'dev', 'lo')
    sh('ip', '-n', net.cmp, 'route', 'add', '198.51.100.0/24', 'via', '203.0.113.1')
    net.ns(net.cmp, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
    net.ns(net.cmp, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.0.2.24/32', '-o', 'eth1',
           '-j', 'SNAT', '--to-source', '203.0.113.30')
    with open(net.hostsfile, 'w') as handle:
        handle.write('%s,inst-24.novalocal,10.0.2.24\n' % INSTANCE_MAC)
    return net


def destroy(net):
    net.stop_dnsmasq()
    for name in (net.inst, net.cmp, net.ext):
        sh('ip', 'netns', 'del', name, check=False)


@pytest.fixture(scope='module')
def probe_net():
    _need('ip', 'tcpdump', 'dnsmasq', 'busybox', 'iptables')
    prefix = 'tprb' + uuid.uuid4().hex[:4]
    workdir = tempfile.mkdtemp(prefix='netdiag-probes-')
    net = None
    try:
        net = build(prefix, workdir)
        net.start_dnsmasq()
        yield net
    finally:
        if net is not None:
            destroy(net)
        else:
            for suffix in ('-inst', '-cmp', '-ext'):
                sh('ip', 'netns', 'del', prefix + suffix, check=False)
        shutil.rmtree(workdir, ignore_errors=True)
