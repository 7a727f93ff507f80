# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Evidence shaped like the modules' RETURN docs, for the verdict engine's unit tests.

The healthy case is the chapter's capture example (instance 10.0.2.24 with floating IP 203.0.113.30
on a compute node 10.0.0.42 / 203.0.113.34, FlatDHCPManager with br100 whose uplink is eth1, the
`ip a` listing of the chapter, the dnsmasq command line and syslog lines of the chapter). Names are
deliberately not the lab's so that a test passing here proves nothing is hard-coded.
"""

from __future__ import annotations

import copy

MAC = 'fa:16:3e:56:0b:6f'
FIXED = '10.0.2.24'
FLOAT = '203.0.113.30'
UUID = '8a6e5a4e-6a1c-4d57-9b0c-6e1c2d1e0a01'


def _if(name, index, kind='veth', flags=('BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'), master=None, addrs=(), mac=None, carrier=True):
    return {'name': name, 'index': index, 'kind': kind, 'flags': list(flags), 'operstate': 'UP' if carrier and 'UP' in flags else 'DOWN',
            'carrier': carrier, 'mtu': 1500, 'master': master, 'mac': mac or '52:54:00:00:00:%02x' % index,
            'addresses': [{'address': a.split('/')[0], 'prefixlen': int(a.split('/')[1]), 'family': 'inet'} for a in addrs],
            'problems': []}


def healthy():
    instance = {
        'uuid': UUID, 'hostname': 'test', 'display_name': 'test', 'host': 'mynode', 'vm_state': 'active', 'deleted': 0,
        'fixed_ips': [{'address': FIXED, 'mac': MAC, 'allocated': True, 'leased': True,
                       'network': {'label': 'private', 'bridge': 'br100', 'bridge_interface': 'eth1', 'vlan': None,
                                   'gateway': '10.0.2.1', 'dhcp_server': '10.0.2.1', 'dns1': None, 'cidr': '10.0.2.0/24',
                                   'multi_host': True},
                       'floating_ips': [{'address': FLOAT}]}],
    }
    compute = {
        'interfaces': [
            _if('lo', 1, kind='loopback', flags=('LOOPBACK', 'UP', 'LOWER_UP'), addrs=('127.0.0.1/8',)),
            _if('eth0', 2, kind='', addrs=('203.0.113.34/24', '203.0.113.30/32')),
            _if('eth1', 3, kind='', master='br100'),
            _if('virbr0', 4, kind='bridge', flags=('NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'), carrier=False),
            _if('br100', 6, kind='bridge', addrs=('10.0.2.1/24', '10.0.0.42/24')),
            _if('vnet1', 7, kind='tun', master='br100', mac='fe:16:3e:56:0b:6f'),
            _if('vnet2', 8, kind='tun', master='br100', mac='fe:16:3e:00:00:02'),
        ],
        'bridges': [{'name': 'br100', 'stp': False, 'ports': [{'name': 'eth1', 'state': 'forwarding'},
                                                              {'name': 'vnet1', 'state': 'forwarding'},
                                                              {'name': 'vnet2', 'state': 'forwarding'}]},
                    {'name': 'virbr0', 'ports': []}],
        'domains': [
            {'name': 'instance-00000001', 'uuid': UUID, 'file': '/etc/libvirt/qemu/instance-00000001.xml',
             'interfaces': [{'target_dev': 'vnet1', 'mac': MAC, 'source_bridge': 'br100', 'model': 'virtio'}]},
            {'name': 'instance-00000002', 'uuid': 'other', 'interfaces': [{'target_dev': 'vnet2', 'mac': 'fa:16:3e:00:00:02',
                                                                           'source_bridge': 'br100'}]},
        ],
        'nova_conf': {'network_manager': 'nova.network.manager.FlatDHCPManager', 'flat_interface': 'eth1',
                      'flat_network_bridge': 'br100', 'public_interface': 'eth0', 'multi_host': True},
        'routes': [{'dst': 'default', 'gateway': '203.0.113.1', 'dev': 'eth0', 'flags': []},
                   {'dst': '10.0.2.0/24', 'dev': 'br100', 'protocol': 'kernel', 'scope': 'link', 'prefsrc': '10.0.2.1'}],
        'ip_forward': '1',
        'iptables': {'tables': {
            'filter': {'chains': {
                'FORWARD': {'policy': 'ACCEPT', 'rules': [{'target': 'nova-filter-top', 'packets': 10, 'bytes': 840},
                                                          {'target': 'nova-network-FORWARD', 'packets': 10, 'bytes': 840}]},
                'nova-network-FORWARD': {'policy': None, 'rules': [
                    {'in_interface': 'br100', 'target': 'ACCEPT', 'packets': 5, 'bytes': 420},
                    {'out_interface': 'br100', 'target': 'ACCEPT', 'packets': 5, 'bytes': 420}]},
                'nova-compute-sg-fallback': {'rules': [{'target': 'DROP', 'packets': 0, 'bytes': 0}]},
            }},
            'nat': {'chains': {
                'nova-network-PREROUTING': {'rules': [
                    {'destination': '203.0.113.30/32', 'target': 'DNAT', 'target_args': '--to-destination 10.0.2.24',
                     'packets': 1, 'bytes': 84}]},
                'nova-network-float-snat': {'rules': [
                    {'source': '10.0.2.24/32', 'target': 'SNAT', 'target_args': '--to-source 203.0.113.30', 'packets': 1, 'bytes': 84}]},
                'nova-network-snat': {'rules': [{'target': 'nova-network-float-snat'},
                                                {'source': '10.0.2.0/24', 'out_interface': 'eth0', 'target': 'SNAT',
                                                 'target_args': '--to-source 203.0.113.34'}]},
            }},
        }},
        'dnsmasq': {
            'processes': [{'pid': 2438, 'user': 'nobody', 'bridge': 'br100', 'alive': True,
                           'pid_file': {'path': '/var/lib/nova/networks/nova-br100.pid', 'pid': 2438, 'alive': True},
                           'options': {'listen-address': '10.0.2.1', 'dhcp-hostsfile': '/var/lib/nova/networks/nova-br100.conf'},
                           'hostsfile': {'path': '/var/lib/nova/networks/nova-br100.conf',
                                         'entries': [{'mac': MAC, 'name': 'test.novalocal', 'ip': FIXED},
                                                     {'mac': 'fa:16:3e:00:00:02', 'name': 'other.novalocal', 'ip': '10.0.2.25'}]}}],
            'dhcp_by_mac': {MAC: {'result': 'handshake_complete', 'events': [
                'Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPDISCOVER(br100) fa:16:3e:56:0b:6f',
                'Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPOFFER(br100) 10.0.2.24 fa:16:3e:56:0b:6f',
                'Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPREQUEST(br100) 10.0.2.24 fa:16:3e:56:0b:6f',
                'Feb 27 22:01:36 mynode dnsmasq-dhcp[2438]: DHCPACK(br100) 10.0.2.24 fa:16:3e:56:0b:6f test']}},
            'problems': [],
        },
        'console_log': {'dhcp_runs': [{'client': 'udhcpc', 'lease_obtained': True}], 'lease_obtained': True, 'problems': []},
    }
    guest = {'interfaces': [_if('lo', 1, kind='loopback', flags=('LOOPBACK', 'UP', 'LOWER_UP')),
                            _if('eth0', 2, addrs=(FIXED + '/24',), mac=MAC)]}
    probes = [
        {'step': 'guest_external', 'from_host': 'guest-test', 'target': '1.2.3.4', 'sent': 2, 'received': 2, 'loss': 0.0, 'reachable': True},
        {'step': 'guest_compute', 'from_host': 'guest-test', 'target': '10.0.2.1', 'sent': 2, 'received': 2, 'loss': 0.0, 'reachable': True},
        {'step': 'compute_gateway', 'from_host': 'mynode', 'target': '203.0.113.1', 'sent': 2, 'received': 2, 'loss': 0.0, 'reachable': True},
    ]
    capture = {'hops': [
        {'host': 'guest-test', 'interface': 'eth0', 'request_seen': True, 'reply_seen': True},
        {'host': 'mynode', 'interface': 'vnet1', 'request_seen': True, 'reply_seen': True},
        {'host': 'mynode', 'interface': 'br100', 'request_seen': True, 'reply_seen': True},
        {'host': 'mynode', 'interface': 'eth0', 'request_seen': True, 'reply_seen': True},
    ], 'moved_rules': []}
    hops_inputs = {'domains': compute['domains'], 'bridges': compute['bridges'], 'nova_conf': compute['nova_conf'],
                   'routes': compute['routes'], 'interfaces': compute['interfaces'], 'compute_host': 'mynode',
                   'guest_host': 'guest-test', 'guest_interfaces': guest['interfaces'], 'external_target': '1.2.3.4',
                   'external_host': 'outside'}
    return {
        'instance': instance, 'audit': [], 'compute_host': 'mynode', 'guest_host': 'guest-test', 'external_host': 'outside',
        'external_target': '1.2.3.4', 'hosts': {'mynode': compute, 'guest-test': guest}, 'probes': probes, 'capture': capture,
        'counters': [], 'dhcp_probe': None, 'dns': [], '_hops_inputs': hops_inputs,
    }


def with_hops(ev):
    """Return a deep copy of ``ev`` with ``hops`` built from its facts."""
    # imported here so that this helper module has no import side effects at collection time
    from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _verdict  # pylint: disable=import-outside-toplevel

    ev = copy.deepcopy(ev)
    hi = ev.pop('_hops_inputs')
    c = ev['hosts'][ev['compute_host']]
    hi.update({'domains': c['domains'], 'bridges': c['bridges'], 'nova_conf': c['nova_conf'], 'routes': c['routes'],
               'interfaces': c['interfaces']})
    if ev.get('guest_host') and ev['guest_host'] in ev['hosts']:
        hi['guest_interfaces'] = ev['hosts'][ev['guest_host']]['interfaces']
    ev['hops'] = _verdict.build_hops(ev['instance'], **hi)
    return ev


def iface(ev, host, name):
    for i in ev['hosts'][host]['interfaces']:
        if i['name'] == name:
            return i
    raise KeyError(name)


def probe(ev, step, ok):
    for p in ev['probes']:
        if p['step'] == step:
            p['reachable'] = ok
            p['received'] = p['sent'] if ok else 0
            p['loss'] = 0.0 if ok else 100.0
            return p
    p = {'step': step, 'from_host': 'x', 'target': 'y', 'sent': 2, 'received': 2 if ok else 0, 'reachable': ok}
    ev['probes'].append(p)
    return p
