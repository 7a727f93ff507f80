# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The seed lab (the chapter's cloud) works like a nova-network cloud, every fault breaks what it
should, heal restores it. One lab for the whole module (session fixture), faults cycled on it."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from lab_probes import (addrs_json, assert_instance_port, assert_syslog_format, capture_sources, db_row, dnsmasq_argv,
                        ipv4_of, link_json, nova_dnsmasq_args, ping, resolve, sh)

pytestmark = pytest.mark.lab

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def active(lab):
    return [i for i in lab.model['instances'].values() if i['state'] == 'active']


def ext_ip(lab):
    return lab.model['external']['servers'][0]['address']


def compute_ip(lab, inst):
    return lab.model['computes'][inst['host']]['networks'][inst['network']]


def snat_source(lab, inst):
    """Source address the external server sees for a ping from ``inst`` (None if nothing arrived)."""
    ext = lab.model['external']['servers'][0]
    srcs = capture_sources(lab, ext['name'], lambda: ping(lab, inst['hostname'], ext['address']),
                           'icmp[icmptype] = icmp-echo and dst host %s' % ext['address'], timeout=4)
    return srcs[0] if srcs else None


def db_fixed_ip(lab, hostname):
    rows = db_row(lab, 'SELECT f.address FROM fixed_ips f JOIN instances i ON f.instance_uuid = i.uuid'
                       ' WHERE i.hostname = %s AND i.deleted = 0 AND f.deleted = 0 AND f.allocated = 1', (hostname,))
    return [r['address'] for r in rows]


def assert_healthy(lab, inst):
    h = inst['hostname']
    lease = lab.lease(h)
    assert lease and lease['ip'] == inst['fixed_ip'], lease
    assert ipv4_of(lab, h) == [inst['fixed_ip']]
    assert ping(lab, h, ext_ip(lab))
    if inst['floating_ip']:
        assert snat_source(lab, inst) == inst['floating_ip']
    assert ext_ip(lab) in resolve(lab, h, 'www.example.org')


# ---------------------------------------------------------------------- healthy cloud
def test_every_instance_got_its_db_fixed_ip_over_dhcp(seed_lab):
    syslog = open(seed_lab.compute_paths('compute1')['syslog']).read()
    for inst in active(seed_lab):
        h = inst['hostname']
        lease = seed_lab.lease(h)
        assert lease is not None and lease['event'] in ('bound', 'renew')  # udhcpc renews after 60 s
        assert db_fixed_ip(seed_lab, h) == [lease['ip']]
        assert ipv4_of(seed_lab, h) == [lease['ip']]
        assert lease['router'] == compute_ip(seed_lab, inst)  # multi_host: the compute node is the gateway
        assert 'dnsmasq-dhcp[' in syslog
        assert ' compute1 dnsmasq-dhcp[' in syslog
        assert 'DHCPACK(%s) %s %s %s' % (inst['bridge'], lease['ip'], inst['mac'], h) in syslog
        console = open(seed_lab.state['instances'][h]['console_log']).read()
        assert 'Lease of %s obtained, lease time 120' % lease['ip'] in console
        assert re.search(r'^udhcpc \(v\d+\.\d+\.\d+\) started$', console, re.M)
        assert 'Sending discover...' in console
        assert 'cloud-setup: checking http://169.254.169.254/2009-04-04/meta-data/instance-id\n' in console
        assert 'iid=i-%08x' % inst['id'] in console
        # the console log is where nova keeps it: <instances_path>/<uuid>/console.log
        assert seed_lab.state['instances'][h]['console_log'] == os.path.join(
            seed_lab.compute_paths(inst['host'])['instances'], inst['uuid'], 'console.log')
        # the DHCP client is busybox udhcpc, still running (renewing) inside the instance's namespace
        proc = seed_lab.state['processes']['udhcpc:%s' % h]
        with open('/proc/%d/cmdline' % proc['pid'], 'rb') as f:
            argv = f.read().decode().split('\0')
        assert os.path.basename(argv[0]) == 'busybox' and argv[1:4] == ['udhcpc', '-i', 'eth0']
        assert os.stat('/proc/%d/ns/net' % proc['pid']).st_ino == os.stat('/run/netns/%s' % seed_lab.ns(h)).st_ino
    assert_syslog_format(seed_lab.compute_paths('compute1')['syslog'], 'compute1')


def test_instance_pings_external_through_its_floating_ip(seed_lab):
    for inst in active(seed_lab):
        assert ping(seed_lab, inst['hostname'], ext_ip(seed_lab))
        assert snat_source(seed_lab, inst) == inst['floating_ip']


def test_external_server_reaches_instance_by_floating_ip(seed_lab):
    inst = active(seed_lab)[0]
    srcs = capture_sources(seed_lab, inst['hostname'], lambda: ping(seed_lab, 'external', inst['floating_ip']),
                           'icmp[icmptype] = icmp-echo', timeout=4)
    assert srcs == [ext_ip(seed_lab)]


def test_instances_resolve_names_through_dnsmasq(seed_lab):
    a, b = active(seed_lab)[:2]
    assert resolve(seed_lab, a['hostname'], 'www.example.org') == [ext_ip(seed_lab)]
    assert resolve(seed_lab, a['hostname'], ext_ip(seed_lab)) == ['www.example.org']  # reverse, via upstream
    assert resolve(seed_lab, a['hostname'], '%s.novalocal' % b['hostname']) == [b['fixed_ip']]
    with open(os.path.join(seed_lab.hostdir(a['hostname']), 'resolv.conf')) as f:
        assert 'nameserver %s' % compute_ip(seed_lab, a) in f.read()


def test_second_instance_reachable_on_the_bridge(seed_lab):
    a, b = active(seed_lab)[:2]
    assert ping(seed_lab, a['hostname'], b['fixed_ip'])


def test_compute_iptables_look_like_nova_network(seed_lab):
    out = sh(seed_lab.ns('compute1'), ['iptables-save']).stdout
    for chain in ('nova-network-PREROUTING', 'nova-network-OUTPUT', 'nova-network-POSTROUTING', 'nova-network-snat',
                  'nova-network-float-snat', 'nova-network-FORWARD', 'nova-filter-top', 'nova-postrouting-bottom'):
        assert ':%s - [0:0]' % chain in out
    inst = active(seed_lab)[0]
    assert '-A nova-network-PREROUTING -d %s/32 -j DNAT --to-destination %s' % (inst['floating_ip'], inst['fixed_ip']) in out
    assert '-A nova-network-float-snat -s %s/32 -o eth0 -j SNAT --to-source %s' % (inst['fixed_ip'], inst['floating_ip']) in out
    assert '-A nova-network-snat -s 10.0.0.0/22 -o eth0 -j SNAT --to-source 203.0.113.34' in out
    assert '-A nova-network-FORWARD -i br100 -j ACCEPT' in out
    assert '-A POSTROUTING -j nova-postrouting-bottom' in out


def test_dnsmasq_runs_with_nova_arguments(seed_lab):
    pid, argv = dnsmasq_argv(seed_lab, 'compute1', 'br100')
    nd = seed_lab.compute_paths('compute1')['networks']
    nova, extra = nova_dnsmasq_args(seed_lab, 'compute1', 'private')
    assert nova[3:10] == ['--domain=novalocal', '--pid-file=%s/nova-br100.pid' % nd, '--listen-address=10.0.0.42',
                          '--except-interface=lo', "--dhcp-range=set:'novanetwork',10.0.0.2,static,120s",
                          '--dhcp-lease-max=1024', '--dhcp-hostsfile=%s/nova-br100.conf' % nd]
    # nova-network's argument set, in its order, then the documented additions and the log FIFO; nothing else
    assert os.path.basename(argv[0]) == 'dnsmasq'
    assert argv[1:len(nova) + 1] == nova
    assert argv[len(nova) + 1:-1] == extra
    assert argv[-1].startswith('--log-facility=%s/' % seed_lab.root) and len(argv) == 1 + len(nova) + len(extra) + 1
    with open('%s/nova-br100.pid' % nd) as f:
        assert int(f.read()) == pid
    # the namespace of the process is the compute node's
    assert os.stat('/proc/%d/ns/net' % pid).st_ino == os.stat('/run/netns/%s' % seed_lab.ns('compute1')).st_ino
    with open('%s/nova-br100.conf' % nd) as f:
        assert 'fa:16:3e:56:0b:6f,vm1.novalocal,10.0.2.24\n' in f.read()


def test_host_files(seed_lab):
    paths = seed_lab.compute_paths('compute1')
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(paths['nova_conf'])
    d = cp['DEFAULT']
    assert d['network_manager'] == 'nova.network.manager.FlatDHCPManager'
    assert (d['flat_interface'], d['flat_network_bridge'], d['public_interface']) == ('eth1', 'br100', 'eth0')
    assert d['multi_host'] == 'True' and d['routing_source_ip'] == '203.0.113.34'
    assert d['dhcp_domain'] == 'novalocal' and d['fixed_range'] == '10.0.0.0/22'
    assert cp['database']['connection'].startswith('mysql+pymysql://nova:')
    vm1 = seed_lab.model['instances']['vm1']
    root = ET.parse(os.path.join(paths['libvirt'], 'instance-00000001.xml')).getroot()
    assert root.findtext('name') == 'instance-00000001' and root.findtext('uuid') == vm1['uuid']
    iface = root.find("devices/interface[@type='bridge']")
    assert iface.find('mac').get('address') == vm1['mac']
    assert iface.find('source').get('bridge') == 'br100'
    assert iface.find('target').get('dev') == vm1['vnet']
    # the vnet named in the XML is really the bridge port whose peer is the guest's eth0
    link = json.loads(sh(seed_lab.ns('compute1'), ['ip', '-j', '-d', 'link', 'show', vm1['vnet']]).stdout)[0]
    assert link['master'] == 'br100'
    assert json.loads(sh(seed_lab.ns('vm1'), ['ip', '-j', 'link', 'show', 'eth0']).stdout)[0]['address'] == vm1['mac']
    assert root.find("devices/serial[@type='file']/source").get('path').endswith('/%s/console.log' % vm1['uuid'])


def test_compute_interfaces_as_nova_network_builds_them(seed_lab):
    comp = seed_lab.model['computes']['compute1']
    # flat_interface: a port of br100, which carries its MAC and the host's address on the fixed network
    flat = link_json(seed_lab, 'compute1', comp['flat_interface'])
    br = link_json(seed_lab, 'compute1', 'br100')
    assert flat['master'] == 'br100' and br['linkinfo']['info_kind'] == 'bridge' and br['address'] == flat['address']
    assert addrs_json(seed_lab, 'compute1', 'br100') == ['10.0.0.42/22']
    assert addrs_json(seed_lab, 'compute1', comp['flat_interface']) == []
    # public_interface: the public address, each floating IP as /32, the default route
    floats = sorted('%s/32' % i['floating_ip'] for i in active(seed_lab) if i['floating_ip'])
    pub = addrs_json(seed_lab, 'compute1', comp['public_interface'])
    assert pub[0] == '203.0.113.34/24' and sorted(pub[1:]) == floats
    route = json.loads(sh(seed_lab.ns('compute1'), ['ip', '-j', 'route', 'show', 'default']).stdout)
    assert [(r['gateway'], r['dev']) for r in route] == [('203.0.113.1', comp['public_interface'])]
    for inst in active(seed_lab):
        assert_instance_port(seed_lab, inst)


def test_private_mariadb(seed_lab):
    db = seed_lab.state['db']
    pid = seed_lab.state['processes']['mariadbd']['pid']
    with open('/proc/%d/cmdline' % pid, 'rb') as f:
        argv = f.read().decode().split('\0')
    opts = dict(a.split('=', 1) for a in argv if a.startswith('--') and '=' in a)
    mdir = os.path.join(seed_lab.root, 'mariadb')
    assert opts['--datadir'].startswith(mdir + '/') and opts['--socket'].startswith(mdir + '/')
    assert opts['--bind-address'] == '127.0.0.1' and int(opts['--port']) == db['port']
    listening = subprocess.run(['ss', '-Hltnp'], stdout=subprocess.PIPE, text=True, check=True).stdout
    mine = [ln.split()[3] for ln in listening.splitlines() if 'pid=%d,' % pid in ln]
    assert mine == ['127.0.0.1:%d' % db['port']]
    # the inventory's DB variables reach the nova DB as the nova user (what the modules use)
    import pymysql
    with open(seed_lab.inventory_path) as f:
        params = yaml.safe_load(f)['all']['vars']['netdiag_nova_db']
    conn = pymysql.connect(host=params['login_host'], port=int(params['login_port']), user=params['login_user'],
                           password=params['login_password'], database=params['login_db'], connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT COUNT(*) FROM instances WHERE deleted = 0')
            assert cur.fetchone()[0] == len(active(seed_lab))
    finally:
        conn.close()


def test_schema_is_the_real_nova_ddl():
    """The tables in lab/sql are the CREATE TABLE blocks of the shared nova schema dump (provenance in its header)."""
    src = os.path.join(REPO, '..', 'shared', 'data', 'openstack-schemas', 'nova_schema.sql')
    if not os.path.exists(src):
        pytest.skip('the shared nova schema dump is not next to this checkout')

    def blocks(text):
        out = {}
        for m in re.finditer(r'CREATE TABLE `(\w+)` \((.*?)\n\)([^;]*);', text, re.S):
            out[m.group(1)] = (sorted(ln.strip().rstrip(',') for ln in m.group(2).splitlines()),
                               re.sub(r'AUTO_INCREMENT=\d+ ', '', m.group(3)))
        return out
    with open(src) as f:
        real = blocks(f.read())
    with open(os.path.join(REPO, 'lab', 'sql', 'nova_network_tables.sql')) as f:
        mine = blocks(f.read())
    assert sorted(mine) == ['fixed_ips', 'floating_ips', 'instances', 'networks', 'virtual_interfaces']
    for table, block in mine.items():
        assert block == real[table], table


def test_shipped_content_never_reads_the_lab_state():
    """Faults are real state changes; nothing shipped may read the lab's bookkeeping (state.json, lab/) instead."""
    hits = []
    for top in ('plugins', 'roles', 'playbooks'):
        for dirpath, dummy, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                path = os.path.join(dirpath, name)
                with open(path, 'rb') as f:
                    text = f.read().decode('utf-8', 'replace')
                for needle in ('state.json', 'netdiag_lab_root', 'from lab', 'import lab', 'netdiag-lab/'):
                    if needle in text:
                        hits.append('%s: %s' % (os.path.relpath(path, REPO), needle))
    assert hits == []


def test_db_rows(seed_lab):
    nets = db_row(seed_lab, 'SELECT * FROM networks')
    assert len(nets) == 1 and nets[0]['bridge'] == 'br100' and nets[0]['multi_host'] == 1 and nets[0]['host'] is None
    assert db_row(seed_lab, 'SELECT COUNT(*) AS n FROM fixed_ips')[0]['n'] == 1024
    rows = db_row(seed_lab, 'SELECT fl.address AS fl, f.address AS fx, i.hostname FROM floating_ips fl JOIN fixed_ips f'
                            ' ON fl.fixed_ip_id = f.id JOIN instances i ON f.instance_uuid = i.uuid WHERE fl.deleted = 0')
    assert sorted((r['hostname'], r['fx'], r['fl']) for r in rows) == [('vm1', '10.0.2.24', '203.0.113.30'),
                                                                       ('vm2', '10.0.2.25', '203.0.113.31')]
    insts = db_row(seed_lab, 'SELECT i.hostname, i.host, i.deleted, i.vm_state, v.address, v.network_id, v.deleted AS vdel'
                             ' FROM instances i JOIN virtual_interfaces v ON v.instance_uuid = i.uuid ORDER BY i.id')
    assert [(r['hostname'], r['host'], r['deleted'], r['vm_state'], r['address'], r['network_id'], r['vdel']) for r in insts] == [
        (i['hostname'], 'compute1', 0, 'active', i['mac'], nets[0]['id'], 0) for i in active(seed_lab)]
    free = db_row(seed_lab, 'SELECT address FROM floating_ips WHERE fixed_ip_id IS NULL AND deleted = 0 ORDER BY id')
    assert [r['address'] for r in free] == seed_lab.model['floating_pool']['free']


def test_inventory_reaches_each_host_namespace(seed_lab):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_HOST_KEY_CHECKING='False')
    res = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible'), '-i', seed_lab.inventory_path, 'all', '-o',
                          '-m', 'ansible.builtin.command', '-a', 'ip -4 -br addr'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, env=env, check=False)
    assert res.returncode == 0, res.stderr
    lines = {ln.split(' | ')[0]: ln for ln in res.stdout.splitlines() if ' | ' in ln}
    assert set(lines) == {'compute1', 'vm1', 'vm2', 'external', 'gateway'}
    with open(seed_lab.inventory_path) as f:
        groups = yaml.safe_load(f)['all']['children']
    assert sorted(groups['compute']['hosts']) == ['compute1']
    assert sorted(groups['netdiag_instances']['hosts']) == ['vm1', 'vm2']
    assert sorted(groups['netdiag_external']['hosts']) == ['external']
    paths, cvars = seed_lab.compute_paths('compute1'), groups['compute']['hosts']['compute1']
    assert (cvars['netdiag_nova_conf_path'], cvars['netdiag_libvirt_xml_dir'], cvars['netdiag_instances_dir'],
            cvars['netdiag_dnsmasq_log_path'], cvars['netdiag_dnsmasq_state_dir']) == (
        paths['nova_conf'], paths['libvirt'], paths['instances'], paths['syslog'], paths['networks'])
    assert all(p.startswith(seed_lab.root + '/') and os.path.exists(p) for p in paths.values())
    assert '10.0.2.24/22' in lines['vm1'] and '10.0.2.25' not in lines['vm1']
    assert '203.0.113.34/24' in lines['compute1'] and '10.0.0.42/22' in lines['compute1']
    assert '198.51.100.10/24' in lines['external']


# ---------------------------------------------------------------------- faults
def _gw_ping_from_compute(lab, inst):
    comp = lab.model['computes'][inst['host']]
    return ping(lab, inst['host'], comp['public_gateway'])


def _check(lab, name, t, other):
    h, ext = t['hostname'], ext_ip(lab)
    if name == 'instance_interface_down':
        assert not ping(lab, h, compute_ip(lab, t))
        assert not ping(lab, h, ext)
        assert ping(lab, other['hostname'], ext)
    elif name in ('vnet_down', 'vnet_detached'):
        assert ipv4_of(lab, h) == [t['fixed_ip']]
        assert not ping(lab, h, compute_ip(lab, t))
        assert ping(lab, other['hostname'], compute_ip(lab, other))
        assert ping(lab, other['hostname'], ext)
    elif name == 'bridge_down':
        assert not ping(lab, h, compute_ip(lab, t))
        assert not ping(lab, other['hostname'], compute_ip(lab, other))  # every instance of that bridge
        assert not ping(lab, h, ext)
    elif name == 'physical_interface_down':
        assert ping(lab, h, compute_ip(lab, t))
        assert not ping(lab, h, ext)
    elif name == 'gateway_down':
        assert ping(lab, h, compute_ip(lab, t))
        assert not _gw_ping_from_compute(lab, t)
        assert not ping(lab, h, ext)
    elif name == 'forwarding_disabled':
        assert ping(lab, h, compute_ip(lab, t))
        assert ping(lab, h, other['fixed_ip'])
        assert not ping(lab, h, ext)
    elif name == 'forward_drop':
        assert ping(lab, h, compute_ip(lab, t))
        assert ping(lab, h, other['fixed_ip'])  # bridged traffic: the firewall only drops routed traffic
        assert not ping(lab, h, ext)
        assert ping(lab, other['hostname'], ext)
    elif name == 'nat_missing':
        assert ping(lab, h, ext)
        comp = lab.model['computes'][t['host']]
        assert snat_source(lab, t) == comp['public_address']  # fixed-range SNAT to routing_source_ip instead
        srcs = capture_sources(lab, h, lambda: ping(lab, 'external', t['floating_ip']), 'icmp[icmptype] = icmp-echo', timeout=3)
        assert srcs == []
        assert snat_source(lab, other) == other['floating_ip']  # the other floating IP still works
    elif name == 'dnsmasq_killed':
        assert lab.lease(h) is None and ipv4_of(lab, h) == []
        console = open(lab.state['instances'][h]['console_log']).read()
        assert console.count('Sending discover...') == 3
        assert 'No lease, forking to background' in console
        assert "wget: can't connect to remote host (169.254.169.254): Network is unreachable" in console
        pidfile = os.path.join(lab.compute_paths(t['host'])['networks'], 'nova-%s.pid' % t['bridge'])
        with open(pidfile) as f:
            pid = int(f.read())
        assert not os.path.exists('/proc/%d' % pid)
    elif name == 'dhcp_hostsfile_missing_mac':
        assert lab.lease(h) is None
        syslog = open(lab.compute_paths(t['host'])['syslog']).read()
        assert 'DHCPDISCOVER(%s) %s no address available' % (t['bridge'], t['mac']) in syslog
        assert lab.lease(other['hostname'])['ip'] == other['fixed_ip']
        assert ping(lab, other['hostname'], ext)
    elif name == 'dns_broken':
        assert resolve(lab, h, 'www.example.org') == []
        assert resolve(lab, h, '%s.novalocal' % other['hostname']) == [other['fixed_ip']]
        assert ping(lab, h, ext)
    elif name == 'dhcp_ebtables_drop':
        assert lab.lease(h) is None and ipv4_of(lab, h) == []
        assert lab.lease(other['hostname'])['ip'] == other['fixed_ip']  # only that tap's requests are dropped
        saved = sh(lab.ns(t['host']), ['ebtables-save', '-c']).stdout
        drops = [ln for ln in saved.splitlines() if '-i %s ' % t['vnet'] in ln and '--ip-dport 67' in ln and '-j DROP' in ln]
        # nft ebtables-save -c: "[packets:bytes] -A INPUT ..."; the guest's DISCOVERs hit the stray rule
        assert len(drops) == 1 and re.match(r'\[(\d+):\d+\]', drops[0]) and int(drops[0][1:].split(':')[0]) > 0, saved
    elif name == 'dns_upstream_stopped':
        assert resolve(lab, h, 'www.example.org') == []
        assert resolve(lab, h, '%s.novalocal' % other['hostname']) == [other['fixed_ip']]  # dnsmasq itself answers
        assert ping(lab, h, ext)
    elif name == 'dns_reverse_slow':
        assert resolve(lab, h, 'www.example.org') != []  # forward lookups still work
        assert resolve(lab, h, ext) == []  # the reverse zone's server never answers
        assert ping(lab, h, ext)
    elif name == 'floating_ip_stale':
        rows = db_row(lab, 'SELECT i.deleted, i.vm_state, f.allocated, fl.address FROM floating_ips fl JOIN fixed_ips f'
                           ' ON fl.fixed_ip_id = f.id JOIN instances i ON i.uuid = f.instance_uuid WHERE fl.address = %s',
                      (t['floating_ip'],))
        assert len(rows) == 1 and rows[0]['deleted'] == t['id'] and rows[0]['vm_state'] == 'deleted'
        assert rows[0]['allocated'] == 0
        assert ping(lab, h, ext)  # only the DB changed
        assert snat_source(lab, t) == t['floating_ip']
    else:
        raise AssertionError('no check for %s' % name)


FAULT_NAMES = ['instance_interface_down', 'vnet_down', 'vnet_detached', 'bridge_down', 'physical_interface_down',
               'gateway_down', 'forwarding_disabled', 'forward_drop', 'nat_missing', 'dnsmasq_killed',
               'dhcp_hostsfile_missing_mac', 'dhcp_ebtables_drop', 'dns_broken', 'dns_upstream_stopped', 'dns_reverse_slow',
               'floating_ip_stale']


def test_fault_list_is_complete():
    from lab.faults import FAULTS
    assert sorted(FAULTS) == sorted(FAULT_NAMES)


@pytest.mark.parametrize('name', FAULT_NAMES)
def test_fault_breaks_then_heal_restores(seed_lab, name):
    t, other = active(seed_lab)[:2]
    try:
        rec = seed_lab.fault(name, t['hostname'])
        assert rec['target'] == t['hostname']
        assert seed_lab.fault(name, t['hostname']) == rec  # idempotent
        assert [f['name'] for f in seed_lab.state['faults']] == [name]
        with open(seed_lab.state_path) as f:
            assert json.load(f)['faults'][0]['name'] == name
        _check(seed_lab, name, t, other)
    finally:
        seed_lab.heal()
    assert seed_lab.state['faults'] == []
    assert seed_lab.heal() == []
    assert_healthy(seed_lab, t)
    assert_healthy(seed_lab, other)  # bridge_down and dnsmasq_killed broke it too
    assert seed_lab.status()['healthy']
    if name == 'floating_ip_stale':
        assert db_fixed_ip(seed_lab, t['hostname']) == [t['fixed_ip']]
    if name == 'dns_reverse_slow':
        assert resolve(seed_lab, t['hostname'], ext_ip(seed_lab)) != []
