# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's pure parts: topology derivation, nova-network renderings, console log, syslog format."""

from __future__ import annotations

import copy
import os
import subprocess
import sys

import pytest
import yaml

from lab import novafiles, topology
from lab.syslogd import reformat

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures', 'lab')


def _raw(name):
    with open(topology.topology_path(name)) as f:
        return yaml.safe_load(f)


def test_shipped_topologies_are_deterministic():
    for name in ('seed', 'vlan'):
        a, b = topology.load(name), topology.load(name)
        assert a == b
        macs = [i['mac'] for i in a['instances'].values()]
        assert len(set(macs)) == len(macs) and all(m.startswith('fa:16:3e:') for m in macs)


def test_seed_is_the_chapter_example():
    m = topology.load('seed')
    vm1 = m['instances']['vm1']
    assert (vm1['fixed_ip'], vm1['floating_ip'], vm1['mac'], vm1['vnet'], vm1['name']) == (
        '10.0.2.24', '203.0.113.30', 'fa:16:3e:56:0b:6f', 'vnet0', 'instance-00000001')
    c = m['computes']['compute1']
    assert (c['public_address'], c['networks']['private'], c['flat_interface']) == ('203.0.113.34', '10.0.0.42', 'eth1')
    assert m['network_manager_class'] == 'nova.network.manager.FlatDHCPManager'


def test_vlan_topology_has_a_terminated_instance_with_floating_ip():
    m = topology.load('vlan')
    dead = [i for i in m['instances'].values() if i['state'] == 'deleted']
    assert len(dead) == 1 and dead[0]['floating_ip'] and dead[0]['vnet'] is None
    assert len([i for i in m['instances'].values() if i['state'] == 'active']) >= 4


@pytest.mark.parametrize('mutate,msg', [
    (lambda r: r['public'].update(cidr='8.8.8.0/24'), 'documentation ranges'),
    (lambda r: r['instances'][0].update(host='nowhere'), 'unknown host'),
    (lambda r: r['instances'][0].update(fixed_ip='192.168.1.1'), 'not in'),
    (lambda r: r['instances'][1].update(mac='fa:16:3e:56:0b:6f'), 'duplicate'),
    (lambda r: r['instances'][0].update(hostname='compute1'), 'clashes'),
    (lambda r: r.update(name='Bad Name'), 'must match'),
    (lambda r: r['computes'][0].update(public_interface='eth0; rm'), 'bad interface name'),
])
def test_bad_topologies_are_refused(mutate, msg):
    raw = copy.deepcopy(_raw('seed'))
    mutate(raw)
    with pytest.raises(topology.TopologyError, match=msg):
        topology.derive(raw)


def test_floating_rules_have_nova_shapes():
    rules = novafiles.floating_rules('203.0.113.30', '10.0.2.24', 'eth0')
    assert ('nat', 'nova-network-PREROUTING', '-d 203.0.113.30/32 -j DNAT --to-destination 10.0.2.24') in rules
    assert ('nat', 'nova-network-float-snat', '-s 10.0.2.24/32 -o eth0 -j SNAT --to-source 203.0.113.30') in rules
    assert len(rules) == 5


def test_ruleset_and_hostsfile():
    m = topology.load('seed')
    text = novafiles.iptables_ruleset(m, m['computes']['compute1'])
    assert text.count('COMMIT') == 3
    assert '-A nova-network-snat -s 10.0.0.0/22 -o eth0 -j SNAT --to-source 203.0.113.34' in text
    assert novafiles.hostsfile_line(m, m['instances']['vm1']) == 'fa:16:3e:56:0b:6f,vm1.novalocal,10.0.2.24'


def _lines(name):
    with open(os.path.join(FIX, name)) as f:
        return f.read().splitlines()


def test_console_log_from_real_udhcpc_output_lease():
    inst = dict(topology.load('seed')['instances']['vm1'], prefixlen=22)
    text = novafiles.console_log(_lines('udhcpc_lease.out'), (True, 'i-00000001'), inst)
    assert 'udhcpc (v1.35.0) started\nSending discover...\nSending select for 10.0.2.24...\n' \
           'Lease of 10.0.2.24 obtained, lease time 120\n' in text
    assert 'iid=i-00000001' in text


def test_console_log_from_real_udhcpc_output_no_lease():
    inst = dict(topology.load('seed')['instances']['vm1'], prefixlen=22)
    err = "wget: can't connect to remote host (169.254.169.254): Network is unreachable"
    text = novafiles.console_log(_lines('udhcpc_no_lease.out'), (False, err), inst)
    assert 'udhcpc (v1.35.0) started\n' + 'Sending discover...\n' * 3 + 'No lease, forking to background\n' in text
    assert 'cloud-setup: checking http://169.254.169.254/2009-04-04/meta-data/instance-id\n' + err + '\n' in text


def test_syslog_lines_match_the_chapter_format():
    line = 'Nov 25 20:40:16 dnsmasq-dhcp[28295]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f no address available'
    assert reformat(line, 'compute1') == \
        'Nov 25 20:40:16 compute1 dnsmasq-dhcp[28295]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f no address available'
    assert reformat('Feb  7 22:01:36 dnsmasq[1]: x', 'h') == 'Feb  7 22:01:36 h dnsmasq[1]: x'
    assert reformat('garbage', 'h') == 'garbage'
    log = _lines('compute1_syslog_no_address.log')
    assert 'Nov 25 20:40:16 compute1 dnsmasq-dhcp[28295]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f no address available' in log


def test_a_closed_pipe_is_not_a_lab_error():
    # `python -m lab status | head`: the reader leaves early; no "lab: error: Broken pipe", exit as SIGPIPE would
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    rfd, wfd = os.pipe()
    os.close(rfd)
    try:
        proc = subprocess.run([sys.executable, '-m', 'lab', 'faults'], stdout=wfd, stderr=subprocess.PIPE, cwd=repo,
                              check=False, timeout=60)
    finally:
        os.close(wfd)
    assert proc.stderr == b'' and proc.returncode == 141
