# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""up is idempotent, down leaves nothing behind, labs with different prefixes coexist."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys

import pytest

from lab import Lab, LabError
from lab.sysutil import netns_list, pid_alive
from lab.topology import TopologyError
from lab_probes import ping, resolve

pytestmark = pytest.mark.lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(('127.0.0.1', port)) == 0


def _default_netns_snapshot():
    """Links, addresses, routes, ip_forward and iptables rules (no counters) of the default namespace."""
    def out(argv):
        return subprocess.run(argv, stdout=subprocess.PIPE, text=True, check=True).stdout
    links = sorted((ln['ifname'], ln.get('address'), tuple(a['local'] for a in ln.get('addr_info', [])))
                   for ln in json.loads(out(['ip', '-j', 'addr', 'show'])))
    routes = sorted(json.dumps(r, sort_keys=True) for r in json.loads(out(['ip', '-j', 'route', 'show', 'table', 'all'])))

    def rules(save):
        # rules and chain declarations (without their counters), of both iptables backends
        if not shutil.which(save):
            return []
        text = out([save])
        return sorted(ln if ln.startswith('-A ') else ln.split(' [', 1)[0] for ln in text.splitlines() if ln.startswith(('-A ', ':')))
    with open('/proc/sys/net/ipv4/ip_forward') as f:
        forward = f.read()
    return links, routes, rules('iptables-save'), rules('iptables-legacy-save'), forward


def _processes_of(lab, namespaces):
    """Live processes whose command line names the lab's directory or one of its namespaces."""
    needles = [lab.root + '/'] + list(namespaces)
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read().decode('utf-8', 'replace').replace('\0', ' ')
        except OSError:
            continue
        if pid_alive(int(pid)) and any(n in cmd for n in needles):
            found.append('%s %s' % (pid, cmd))
    return found


def _works(lab):
    """vm1 reaches the external server and resolves its name through its compute node's dnsmasq."""
    ext = lab.model['external']['servers'][0]['address']
    return ping(lab, 'vm1', ext) and ext in resolve(lab, 'vm1', 'www.example.org')


def test_up_twice_then_down_leaves_nothing(lab_factory, seed_lab):
    before = _default_netns_snapshot()
    lab = lab_factory('seed')
    assert _default_netns_snapshot() == before  # nothing of the lab lives in the default namespace
    pids = {k: p['pid'] for k, p in lab.state['processes'].items()}
    namespaces = list(lab.state['namespaces'])
    port = lab.state['db']['port']
    assert len(pids) >= 6 and all(pid_alive(p) for p in pids.values())
    assert set(namespaces) <= set(netns_list())
    assert _port_open(port)
    # two labs of the same topology (same addresses, same host names) coexist, both working
    assert lab.name != seed_lab.name and port != seed_lab.state['db']['port']
    assert not set(namespaces) & set(seed_lab.state['namespaces'])
    assert _works(lab) and _works(seed_lab)
    assert _processes_of(lab, namespaces)
    lab.up('seed')  # idempotent: nothing rebuilt
    assert {k: p['pid'] for k, p in lab.state['processes'].items()} == pids
    lab.fault('dns_broken')
    lab.down()
    assert [n for n in netns_list() if n.startswith(lab.name + '-')] == []
    assert [k for k, p in pids.items() if pid_alive(p)] == []
    assert not os.path.exists(lab.root)
    assert not _port_open(port)
    assert _processes_of(lab, namespaces) == []
    assert _default_netns_snapshot() == before
    lab.down()  # idempotent
    # the other lab is untouched
    assert seed_lab.status()['healthy'] and _works(seed_lab)


def test_cli_round_trip(lab_factory):
    prefix = 'c' + secrets.token_hex(3)
    lab = Lab(prefix)
    lab_factory.labs.append(lab)  # torn down by the fixture whatever happens
    cli = [sys.executable, '-m', 'lab', '--lab', prefix]
    res = subprocess.run(cli + ['up', '--topology', 'seed'], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(cli + ['fault', 'vnet_down', '--instance', 'vm2'], cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=60, check=False)
    assert res.returncode == 0 and 'vm2' in res.stdout
    res = subprocess.run(cli + ['status'], cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=60, check=False)
    assert 'fault vnet_down on vm2' in res.stdout
    res = subprocess.run(cli + ['heal'], cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=60, check=False)
    assert res.returncode == 0 and 'vnet_down(vm2)' in res.stdout
    res = subprocess.run(cli + ['down'], cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=60, check=False)
    assert res.returncode == 0
    assert not os.path.exists(Lab(prefix).root)


def test_bad_input_fails_cleanly(tmp_path, lab_factory):
    bad = tmp_path / 'bad.yml'
    bad.write_text('name: bad\npublic: {cidr: 8.8.8.0/24, gateway: 8.8.8.1}\n')
    with pytest.raises(TopologyError):
        lab_factory(str(bad))
    with pytest.raises(TopologyError):
        lab_factory('no-such-topology')
    with pytest.raises(LabError):
        Lab('Bad Name; rm -rf /')
    with pytest.raises(LabError):
        Lab('x' * 20)


def test_optional_libvirt_default_network(tmp_path, lab_factory):
    import yaml
    from lab.topology import topology_path
    with open(topology_path('seed')) as f:
        raw = yaml.safe_load(f)
    raw['name'] = 'seedvirbr'
    raw['computes'][0]['libvirt_default_network'] = True
    path = tmp_path / 'seedvirbr.yml'
    path.write_text(yaml.safe_dump(raw))
    lab = lab_factory(str(path))
    link = json.loads(subprocess.run(['ip', '-n', lab.ns('compute1'), '-j', 'addr', 'show', 'dev', 'virbr0'],
                                     stdout=subprocess.PIPE, text=True, check=True).stdout)[0]
    assert 'NO-CARRIER' in link['flags'] and 'UP' in link['flags'] and link['operstate'] == 'DOWN'
    assert [a['local'] for a in link['addr_info'] if a['family'] == 'inet'] == ['192.168.122.1']
    assert lab.state['hosts']['compute1']['interfaces']['virbr0']['role'] == 'libvirt_default_network'
    assert lab.lease('vm1')['ip'] == '10.0.2.24'
