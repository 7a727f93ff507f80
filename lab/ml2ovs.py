# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Neutron ML2/OVS lab (topology ``ml2ovs``): real Open vSwitch, Linux bridges, iptables and dnsmasq.

What the Neutron agents would configure, the lab plays with their names; the packet path through it is real.

Every node (the network node ``controller``, the computes) is a namespace running its own ``ovsdb-server`` and
``ovs-vswitchd`` (userspace datapath, ``datapath_type=netdev``: no OVS kernel module here) with the bridges the
openvswitch agent keeps: ``br-int`` (its ``patch-tun`` to ``br-tun``, the agent's flow tables 0, 23, 24, 58, 59,
60, 62), ``br-tun`` (vxlan ports ``vxlan-<remote ip in hex>`` to every other node, tables 0, 2, 4, 10, 20, 22
with the learn flow), and on the network node ``br-ex`` (its uplink ``eth0``, ``phy-br-ex``/``int-br-ex`` patch
with the local VLAN translation of the flat provider network). The node's tunnel address is on ``br-phy`` (the
userspace datapath routes its vxlan packets through a bridge of its own), whose port is the node's ``eth1``.

Compute nodes use the iptables_hybrid firewall: the instance's ``tap<port[:11]>`` in the Linux bridge
``qbr<port[:11]>`` with ``qvb<port[:11]>``, whose veth peer ``qvo<port[:11]>`` is an access port of ``br-int``
(``tag`` = the network's local VLAN, ``external_ids`` iface-id/attached-mac/vm-uuid as os-vif writes them); the
``neutron-openvswi-*`` chains (``physdev`` matches, per port ``i``/``o``/``s`` chains, ``sg-fallback`` DROP) in
the node's iptables with ``bridge-nf-call-iptables`` on.

The network node holds ``qdhcp-<network id>`` (the DHCP agent's dnsmasq with its ``host``, ``opts``, ``leases``,
``pid`` under ``<node>/var/lib/neutron/dhcp/<network id>``; its port ``ns-<port[:11]>`` whose veth peer
``tap<port[:11]>`` is on ``br-int``: the agents' ``ovs_use_veth`` mode) and ``qrouter-<router id>`` (``qr-`` and
``qg-`` ports the same way, the ``neutron-l3-agent-*`` NAT chains for SNAT and the floating IPs). Those two
namespaces are named by Neutron ids, which the lab derives with its own name so that two labs never collide; they
are recorded in the lab state and removed by ``lab down``.
"""

from __future__ import annotations

import binascii
import ipaddress
import os
import socket

from lab.ovn import OvnLab, parallel
from lab.sysutil import LabError, ip_batch, netns_list, nsrun, read_pidfile, run, which, write_file

TOOLS = ('ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'dnsmasq', 'iptables-restore', 'busybox', 'ip')
DEAD_VLAN = 4095
# the agent's prefix for its iptables chains: the binary name (neutron-openvswitch-agent) cut to 16 characters
OVS_CHAIN = 'neutron-openvswi'
L3_CHAIN = 'neutron-l3-agent'
# where the L3 agent's metadata proxy (haproxy on a real node) listens in the router's namespace
METADATA_PROXY_PORT = 9697


def extend_model(model, topo, uuid_of, mac_of):
    """What the ML2/OVS lab adds to the Neutron model: segments, the DHCP and router ports and namespaces, the
    hybrid plug devices, the local VLANs per node, the agents."""
    ctl = next(n for n, v in model['nodes'].items() if v['role'] == 'controller')
    model['network_node'] = ctl
    for k, (netname, net) in enumerate(model['networks'].items()):
        raw = next((x for x in topo.get('networks') or [] if x.get('name') == netname), {})
        net['network_type'] = 'vxlan'
        net['segmentation_id'] = int(raw.get('segmentation_id') or 1000 + k)
        cidr = ipaddress.ip_network(net['cidr'])
        hosts = [str(h) for h in cidr.hosts() if str(h) != net['gateway']]
        pid = uuid_of('port', 'dhcp-%s' % netname)
        net['qdhcp'] = 'qdhcp-%s' % net['id']
        net['dhcp_port'] = {'id': pid, 'mac': mac_of('dhcp-port', netname), 'ip': hosts[0], 'ns_dev': 'ns-' + pid[:11],
                            'tap': 'tap' + pid[:11], 'device_id': 'dhcp%s-%s' % (uuid_of('host', ctl), net['id'])}
    for i in model['instances'].values():
        p = i['port_id'][:11]
        i.update(qbr='qbr' + p, qvb='qvb' + p, qvo='qvo' + p)
    r = model.get('router')
    if r:
        r['qrouter'] = 'qrouter-%s' % r['id']
        r['qg'] = 'qg-' + r['gw_port_id'][:11]
        r['qg_tap'] = 'tap' + r['gw_port_id'][:11]
        for itf in r['interfaces'].values():
            itf['qr'] = 'qr-' + itf['port_id'][:11]
            itf['tap'] = 'tap' + itf['port_id'][:11]
    # the local VLAN of each network on each node, as the agent numbers them (from 1, in the order it meets them)
    for name, n in model['nodes'].items():
        nets = [net for net in model['networks'] if name == ctl or any(
            i['host'] == name and i['network'] == net for i in model['instances'].values())]
        n['lvids'] = {net: k for k, net in enumerate(nets, 1)}
        if name == ctl and model.get('public'):
            n['lvids']['public'] = len(nets) + 1
        n['agent_id'] = uuid_of('agent', 'Open vSwitch agent/%s' % name)
    model['agents'] = {'dhcp': uuid_of('agent', 'DHCP agent/%s' % ctl), 'l3': uuid_of('agent', 'L3 agent/%s' % ctl)}


def tunnel_port(remote_ip):
    """The agent's name of the tunnel port to ``remote_ip``: ``vxlan-`` + the address in hex."""
    return 'vxlan-%s' % binascii.hexlify(socket.inet_aton(remote_ip)).decode()


def br_int_flows(lvid_ext=None):
    """br-int's flows as the agent (iptables_hybrid firewall) installs them; on the network node also the
    translation of the provider network's traffic from ``int-br-ex``."""
    flows = ['table=0,priority=65535,dl_vlan=%d,actions=drop' % DEAD_VLAN]
    if lvid_ext:
        flows += ['table=0,priority=3,in_port=int-br-ex,vlan_tci=0x0000/0x1fff,actions=mod_vlan_vid:%d,resubmit(,58)' % lvid_ext,
                  'table=0,priority=2,in_port=int-br-ex,actions=drop']
    flows += ['table=0,priority=0,actions=resubmit(,58)', 'table=23,priority=0,actions=drop', 'table=24,priority=0,actions=drop',
              'table=58,priority=0,actions=resubmit(,59)', 'table=59,priority=0,actions=resubmit(,60)',
              'table=60,priority=3,actions=NORMAL', 'table=62,priority=3,actions=NORMAL']
    return flows


def br_tun_flows(tunnels, segments):
    """br-tun's flows: ``tunnels`` the tunnel port names, ``segments`` {segmentation id: local VLAN}."""
    flows = ['table=0,priority=1,in_port=patch-int,actions=resubmit(,2)']
    flows += ['table=0,priority=1,in_port=%s,actions=resubmit(,4)' % t for t in tunnels]
    flows += ['table=0,priority=0,actions=drop',
              'table=2,priority=0,dl_dst=00:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,20)',
              'table=2,priority=0,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=resubmit(,22)',
              'table=3,priority=0,actions=drop', 'table=4,priority=0,actions=drop', 'table=6,priority=0,actions=drop',
              'table=10,priority=1,actions=learn(table=20,hard_timeout=300,priority=1,NXM_OF_VLAN_TCI[0..11],'
              'NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],load:0->NXM_OF_VLAN_TCI[],load:NXM_NX_TUN_ID[]->NXM_NX_TUN_ID[],'
              'output:OXM_OF_IN_PORT[]),output:patch-int',
              'table=20,priority=0,actions=resubmit(,22)', 'table=22,priority=0,actions=drop']
    for seg, lvid in sorted(segments.items()):
        flows.append('table=4,priority=1,tun_id=0x%x,actions=mod_vlan_vid:%d,resubmit(,10)' % (seg, lvid))
        flows.append('table=22,priority=1,dl_vlan=%d,actions=strip_vlan,load:0x%x->NXM_NX_TUN_ID[],%s' % (
            lvid, seg, ','.join('output:%s' % t for t in tunnels)))
    return flows


def sg_rules(port_id, tap, ip, mac):
    """The iptables_hybrid rules of one port (filter table), by the chain they are in: the jumps to the port's chains
    and its ``i`` (ingress), ``o`` (egress), ``s`` (anti-spoofing) chains. Ingress allows established traffic, DHCP
    from the server, ICMP and ssh (the project's default group with the usual ``icmp`` and ``tcp 22`` rules); egress
    anything from the port's own IP/MAC pair."""
    p = port_id[:10]
    i, o, s = '%s-i%s' % (OVS_CHAIN, p), '%s-o%s' % (OVS_CHAIN, p), '%s-s%s' % (OVS_CHAIN, p)
    est = ('-m state --state RELATED,ESTABLISHED -m comment --comment "Direct packets associated with a known session to the '
           'RETURN chain." -j RETURN')
    invalid = ('-m state --state INVALID -m comment --comment "Drop packets that appear related to an existing connection '
               '(e.g. TCP ACK/FIN) but do not have an entry in conntrack." -j DROP')
    fallback = '-m comment --comment "Send unmatched traffic to the fallback chain." -j %s-sg-fallback' % OVS_CHAIN
    to_sg = '--physdev-is-bridged -m comment --comment "Direct traffic from the VM interface to the security group chain." -j %s-sg-chain'
    jump = '--physdev-is-bridged -m comment --comment "Jump to the VM specific chain." -j %s'
    return {
        'FORWARD': ['-m physdev --physdev-out %s %s' % (tap, to_sg % OVS_CHAIN), '-m physdev --physdev-in %s %s' % (tap, to_sg % OVS_CHAIN)],
        'INPUT': ['-m physdev --physdev-in %s --physdev-is-bridged -m comment --comment "Direct incoming traffic from VM to the '
                  'security group chain." -j %s' % (tap, o)],
        'sg-chain': ['-m physdev --physdev-out %s %s' % (tap, jump % i), '-m physdev --physdev-in %s %s' % (tap, jump % o)],
        i: [est, '-d %s/32 -p udp -m udp --sport 67 --dport 68 -j RETURN' % ip, '-p icmp -j RETURN',
            '-p tcp -m tcp --dport 22 -j RETURN', invalid, fallback],
        o: ['-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -m comment --comment "Allow DHCP client '
            'traffic." -j RETURN', '-j %s' % s,
            '-p udp -m udp --sport 68 --dport 67 -m comment --comment "Allow DHCP client traffic." -j RETURN',
            '-p udp -m udp --sport 67 --dport 68 -m comment --comment "Prevent DHCP Spoofing by VM." -j DROP', est, '-j RETURN',
            invalid, fallback],
        s: ['-s %s/32 -m mac --mac-source %s -m comment --comment "Allow traffic from defined IP/MAC pairs." -j RETURN' % (ip, mac.upper()),
            '-m comment --comment "Drop traffic without an IP/MAC allow rule." -j DROP'],
    }


def filter_table(ports):
    """The compute node's filter table with the agent's chains for ``ports`` [(port_id, tap, ip, mac)], in
    iptables-restore form."""
    base = ['%s-%s' % (OVS_CHAIN, c) for c in ('FORWARD', 'INPUT', 'OUTPUT', 'local', 'sg-chain', 'sg-fallback')]
    rules = {'INPUT': ['-j %s-INPUT' % OVS_CHAIN], 'FORWARD': ['-j neutron-filter-top', '-j %s-FORWARD' % OVS_CHAIN],
             'OUTPUT': ['-j neutron-filter-top', '-j %s-OUTPUT' % OVS_CHAIN], 'neutron-filter-top': ['-j %s-local' % OVS_CHAIN]}
    own = []
    for port in ports:
        for chain, lines in sg_rules(*port).items():
            name = chain if chain.startswith(OVS_CHAIN) else '%s-%s' % (OVS_CHAIN, chain)
            if name not in base and name not in own:
                own.append(name)
            rules.setdefault(name, []).extend(lines)
    rules.setdefault('%s-sg-chain' % OVS_CHAIN, []).append('-j ACCEPT')
    rules['%s-sg-fallback' % OVS_CHAIN] = ['-m comment --comment "Default drop rule for unmatched traffic." -j DROP']
    chains = base + ['neutron-filter-top'] + own
    text = ['*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'] + [':%s - [0:0]' % c for c in chains]
    for chain in ['INPUT', 'FORWARD', 'OUTPUT'] + chains:
        text += ['-A %s %s' % (chain, r) for r in rules.get(chain, [])]
    return '\n'.join(text + ['COMMIT']) + '\n'


def nat_table(router, floating):
    """The router's nat table as the L3 agent writes it: SNAT of the tenant subnets to the gateway address, DNAT and
    SNAT of each floating IP ``floating`` [(floating ip, fixed ip)]."""
    c = L3_CHAIN
    chains = ['%s-%s' % (c, x) for x in ('OUTPUT', 'POSTROUTING', 'PREROUTING', 'float-snat', 'snat')] + ['neutron-postrouting-bottom']
    rules = ['-A PREROUTING -j %s-PREROUTING' % c, '-A OUTPUT -j %s-OUTPUT' % c, '-A POSTROUTING -j %s-POSTROUTING' % c,
             '-A POSTROUTING -j neutron-postrouting-bottom']
    # the metadata proxy: the instances' requests to 169.254.169.254:80 go to the proxy listening in the namespace
    rules.append('-A %s-PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports %d'
                 % (c, METADATA_PROXY_PORT))
    for fip, fixed in floating:
        rules += ['-A %s-OUTPUT -d %s/32 -j DNAT --to-destination %s' % (c, fip, fixed),
                  '-A %s-PREROUTING -d %s/32 -j DNAT --to-destination %s' % (c, fip, fixed),
                  '-A %s-float-snat -s %s/32 -j SNAT --to-source %s --random-fully' % (c, fixed, fip)]
    rules += ['-A %s-POSTROUTING ! -o %s -m conntrack ! --ctstate DNAT -j ACCEPT' % (c, router['qg']),
              '-A %s-snat -j %s-float-snat' % (c, c),
              '-A %s-snat -o %s -j SNAT --to-source %s --random-fully' % (c, router['qg'], router['gateway_ip'])]
    rules += ['-A %s-snat -m mark ! --mark 0x2/0xffff -m conntrack --ctstate DNAT -j SNAT --to-source %s --random-fully'
              % (c, router['gateway_ip'])]
    rules += ['-A neutron-postrouting-bottom -m comment --comment "Perform source NAT on outgoing traffic." -j %s-snat' % c]
    nat = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n%s\n%s\nCOMMIT\n' % (
        '\n'.join(':%s - [0:0]' % x for x in chains), '\n'.join(rules))
    # the mark of traffic that came in from the external network (0x2): the SNAT of DNATed traffic above spares it, so
    # the outside's packets reach the instance with their own source
    mangle = ('*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
              ':POSTROUTING ACCEPT [0:0]\n:%(c)s-PREROUTING - [0:0]\n:%(c)s-mark - [0:0]\n-A PREROUTING -j %(c)s-PREROUTING\n'
              '-A %(c)s-PREROUTING -j %(c)s-mark\n-A %(c)s-mark -i %(qg)s -j MARK --set-xmark 0x2/0xffff\nCOMMIT\n'
              % {'c': c, 'qg': router['qg']})
    return mangle + nat


class Ml2OvsLab(OvnLab):
    """Builds the ML2/OVS lab into a ``lab.core.Lab``; shares the switch daemons, the DB and the underlay with the OVN lab."""

    DHCP_SERVER = 'the DHCP agent\'s dnsmasq'

    # ------------------------------------------------------------------ paths and commands
    def ofctl(self, node, command, bridge, *args, check=True, input=None, options=()):
        """``ovs-ofctl [options] command <bridge's management socket> args`` inside ``node``'s namespace."""
        sock = 'unix:%s/%s.mgmt' % (self.ovsdir(node), bridge)
        return nsrun(self.lab.ns(node), ['ovs-ofctl'] + list(options) + [command, sock] + list(args), check=check, input=input)

    def dhcp_dir(self, net):
        return self.lab.hostdir(self.lab.model['network_node'], 'var', 'lib', 'neutron', 'dhcp', net['id'])

    # ------------------------------------------------------------------ up
    def up(self, model):
        lab = self.lab
        for tool in TOOLS:
            which(tool)
        extra = [net['qdhcp'] for net in model['networks'].values()] + ([model['router']['qrouter']] if model.get('router') else [])
        clash = [n for n in extra if n in netns_list()]
        if clash:
            raise LabError('namespaces %s exist already (another lab, or one left behind): remove them first' % ', '.join(clash))
        hosts = self.plan_hosts(model)
        self.read_versions()

        def underlay():
            self._underlay(model)
            for ns in extra:
                run(['ip', 'netns', 'add', ns])
                lab.state['namespaces'].append(ns)
                ip_batch(ns, ['link set lo up'])

        def switches():
            parallel([(self._start_ovs, n) for n in model['nodes']])
            parallel([(self._agent_bridges, model, n) for n in model['nodes'].values()])

        def network_node():
            for net in model['networks'].values():
                self._qdhcp(model, net)
            if model.get('router'):
                self._qrouter(model)

        def instances():
            parallel([(self._plug, model, i) for i in model['instances'].values()])
            for node in model['nodes']:
                self.firewall(node)
            parallel([(self._boot, i) for i in model['instances'].values()])
        return lab.build(model, hosts, self._db_start, [underlay, switches, network_node, instances],
                         [lambda: self._db_fill(model), lambda: self._write_inventory(model)], backend='ml2ovs')

    # ------------------------------------------------------------------ the agent's bridges
    def _agent_bridges(self, model, n):
        node = n['name']
        self.vsctl(node, 'add-br', 'br-phy', '--', 'set', 'bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', 'eth1')
        ip_batch(self.lab.ns(node), ['addr add %s/%d dev br-phy' % (n['tunnel_address'], n['prefixlen']), 'link set br-phy up'])
        self.vsctl(node, 'set', 'open_vswitch', '.', 'external_ids:hostname=%s' % node)
        for br in ('br-int', 'br-tun'):
            self.vsctl(node, '--may-exist', 'add-br', br, '--', 'set', 'bridge', br, 'datapath_type=netdev', 'fail_mode=secure',
                       'protocols=OpenFlow10,OpenFlow13', 'other_config:mac-table-size=50000')
        self.vsctl(node, 'add-port', 'br-int', 'patch-tun', '--', 'set', 'interface', 'patch-tun', 'type=patch', 'options:peer=patch-int',
                   '--', 'add-port', 'br-tun', 'patch-int', '--', 'set', 'interface', 'patch-int', 'type=patch', 'options:peer=patch-tun')
        tunnels = []
        for other in model['nodes'].values():
            if other['name'] == node:
                continue
            t = tunnel_port(other['tunnel_address'])
            self.vsctl(node, 'add-port', 'br-tun', t, '--', 'set', 'interface', t, 'type=vxlan',
                       'options:remote_ip=%s' % other['tunnel_address'], 'options:local_ip=%s' % n['tunnel_address'],
                       'options:in_key=flow', 'options:out_key=flow', 'options:df_default=true', 'options:egress_pkt_mark=0',
                       'options:dst_port=4789')
            tunnels.append(t)
        lvid_ext = None
        if node == model['network_node'] and model.get('router'):
            lvid_ext = n['lvids']['public']
            self.vsctl(node, 'add-br', 'br-ex', '--', 'set', 'bridge', 'br-ex', 'datapath_type=netdev', 'protocols=OpenFlow10,OpenFlow13',
                       '--', 'add-port', 'br-ex', 'eth0',
                       '--', 'add-port', 'br-int', 'int-br-ex', '--', 'set', 'interface', 'int-br-ex', 'type=patch', 'options:peer=phy-br-ex',
                       '--', 'add-port', 'br-ex', 'phy-br-ex', '--', 'set', 'interface', 'phy-br-ex', 'type=patch', 'options:peer=int-br-ex')
            self.load_flows(node, 'br-ex', ['table=0,priority=4,in_port=phy-br-ex,dl_vlan=%d,actions=strip_vlan,NORMAL' % lvid_ext,
                                            'table=0,priority=2,in_port=phy-br-ex,actions=drop', 'table=0,priority=0,actions=NORMAL'])
            ip_batch(self.lab.ns(node), ['link set br-ex up'])
        self.load_flows(node, 'br-int', br_int_flows(lvid_ext))
        segs = {model['networks'][net]['segmentation_id']: lvid for net, lvid in n['lvids'].items() if net in model['networks']}
        self.load_flows(node, 'br-tun', br_tun_flows(tunnels, segs))

    def load_flows(self, node, bridge, flows):
        self.ofctl(node, 'add-flows', bridge, '-', input='\n'.join(flows) + '\n')

    def _veth_port(self, node, ns, ns_dev, tap, mac, mtu, tag, port_id):
        """A port of an agent (DHCP, router) in ``ns``: the veth ``ns_dev`` there, its peer ``tap`` an access port of br-int
        on ``node`` (the agents' ``ovs_use_veth`` mode; offloads off on both ends, as Neutron does on the netdev datapath)."""
        lab = self.lab
        ip_batch(lab.ns(node), ['link add %s type veth peer name %s address %s netns %s' % (tap, ns_dev, mac, ns),
                                'link set %s mtu %d' % (tap, mtu), 'link set %s up' % tap])
        lab.state['links'].append({'a': [node, tap], 'b': [ns, ns_dev], 'type': 'veth'})
        for target, dev in ((lab.ns(node), tap), (ns, ns_dev)):
            nsrun(target, ['ethtool', '-K', dev, 'rx', 'off', 'tx', 'off'], check=False)
        self.vsctl(node, '--may-exist', 'add-port', 'br-int', tap, 'tag=%d' % tag, '--', 'set', 'interface', tap,
                   'external_ids:iface-id=%s' % port_id, 'external_ids:attached-mac=%s' % mac,
                   'external_ids:iface-status=active')

    def _qdhcp(self, model, net):
        ctl = model['network_node']
        dp = net['dhcp_port']
        ns = net['qdhcp']
        self._veth_port(ctl, ns, dp['ns_dev'], dp['tap'], dp['mac'], net['mtu'], model['nodes'][ctl]['lvids'][net['name']], dp['id'])
        ip_batch(ns, ['link set %s mtu %d' % (dp['ns_dev'], net['mtu']), 'addr add %s/%d dev %s' % (dp['ip'], net['prefixlen'], dp['ns_dev']),
                      'link set %s up' % dp['ns_dev']])
        d = self.dhcp_dir(net)
        os.makedirs(d, mode=0o755, exist_ok=True)
        hosts = ''.join('%s,host-%s.openstacklocal,%s,set:port-%s\n' % (i['mac'], i['fixed_ip'].replace('.', '-'), i['fixed_ip'], i['port_id'])
                        for i in model['instances'].values() if i['network'] == net['name'])
        write_file(os.path.join(d, 'host'), hosts, 0o644)
        write_file(os.path.join(d, 'addn_hosts'), ''.join('%s\thost-%s.openstacklocal host-%s\n' % (
            i['fixed_ip'], i['fixed_ip'].replace('.', '-'), i['fixed_ip'].replace('.', '-'))
            for i in model['instances'].values() if i['network'] == net['name']), 0o644)
        write_file(os.path.join(d, 'opts'), 'tag:subnet-%s,option:dns-server,%s\ntag:subnet-%s,option:router,%s\n' % (
            net['subnet_id'], dp['ip'], net['subnet_id'], net['gateway']), 0o644)
        write_file(os.path.join(d, 'leases'), '', 0o644)
        write_file(os.path.join(d, 'interface'), dp['ns_dev'] + '\n', 0o644)
        self.start_dnsmasq(net)

    def dnsmasq_argv(self, net):
        d = self.dhcp_dir(net)
        cidr = ipaddress.ip_network(net['cidr'])
        return [which('dnsmasq'), '--no-hosts', '--no-resolv', '--pid-file=%s/pid' % d, '--dhcp-hostsfile=%s/host' % d,
                '--addn-hosts=%s/addn_hosts' % d, '--dhcp-optsfile=%s/opts' % d, '--dhcp-leasefile=%s/leases' % d,
                '--dhcp-match=set:ipxe,175', '--dhcp-userclass=set:ipxe6,iPXE', '--local-service', '--bind-dynamic',
                '--dhcp-range=set:subnet-%s,%s,static,%s,86400s' % (net['subnet_id'], cidr.network_address, cidr.netmask),
                '--dhcp-option-force=option:mtu,%d' % net['mtu'], '--dhcp-lease-max=%d' % cidr.num_addresses,
                '--conf-file=/dev/null', '--domain=openstacklocal']

    def start_dnsmasq(self, net):
        """The DHCP agent's dnsmasq for ``net``, in its qdhcp namespace (at build time and when a fault that killed it heals)."""
        d = self.dhcp_dir(net)
        pidfile = os.path.join(d, 'pid')
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass
        argv = self.dnsmasq_argv(net)
        nsrun(net['qdhcp'], argv, timeout=15)
        pid = read_pidfile(pidfile)
        if not pid:
            raise LabError('dnsmasq of %s did not start' % net['qdhcp'])
        node = self.lab.model['network_node']
        self.lab._record_process('dnsmasq:%s' % net['qdhcp'], pid, argv, node, net['qdhcp'], pidfile)  # pylint: disable=protected-access
        return pid

    def _qrouter(self, model):
        ctl = model['network_node']
        r, pub = model['router'], model['public']
        ns = r['qrouter']
        lv = model['nodes'][ctl]['lvids']
        self._veth_port(ctl, ns, r['qg'], r['qg_tap'], r['gw_mac'], 1500, lv['public'], r['gw_port_id'])
        cmds = ['link set %s up' % r['qg'], 'addr add %s/%d dev %s' % (r['gateway_ip'], pub['prefixlen'], r['qg'])]
        for netname, itf in r['interfaces'].items():
            net = model['networks'][netname]
            self._veth_port(ctl, ns, itf['qr'], itf['tap'], itf['mac'], net['mtu'], lv[netname], itf['port_id'])
            cmds += ['link set %s mtu %d' % (itf['qr'], net['mtu']), 'link set %s up' % itf['qr'],
                     'addr add %s/%d dev %s' % (itf['ip'], net['prefixlen'], itf['qr'])]
        floating = [(i['floating_ip'], i['fixed_ip']) for i in model['instances'].values() if i['floating_ip']]
        cmds += ['addr add %s/32 dev %s' % (fip, r['qg']) for fip, dummy in floating]
        cmds += ['route add default via %s dev %s' % (pub['gateway'], r['qg'])]
        ip_batch(ns, cmds)
        nsrun(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
        nsrun(ns, ['iptables-restore'], input=nat_table(r, floating))
        self.start_router_metadata_proxy(model)
        # the provider network's gateway learns where the floating IPs are (what the agent's gratuitous ARP does)
        for fip, dummy in floating:
            nsrun(ns, ['ping', '-c', '1', '-W', '1', '-I', fip, pub['gateway']], check=False, timeout=5)

    def start_router_metadata_proxy(self, model):
        """The L3 agent's metadata proxy of the router, in its qrouter namespace on port 9697, its pid file where the
        agent keeps it (``<state_path>/external/pids/<router id>.pid``). At build time and when a fault that killed it is
        healed."""
        r = model['router']
        return self.spawn_metadata_server('metadata-proxy:%s' % r['qrouter'], model['network_node'], r['qrouter'],
                                          ['ip', 'netns', 'exec', r['qrouter']], r['id'], 'ns-metadata-proxy',
                                          '0.0.0.0:%d' % METADATA_PROXY_PORT, list(model['instances'].values()))

    # ------------------------------------------------------------------ instances
    def _plug(self, model, i):
        """What nova/os-vif do for a hybrid-plugged port: tap in qbr, qvb/qvo veth, qvo an access port of br-int."""
        lab = self.lab
        host, guest = i['host'], i['hostname']
        net = model['networks'][i['network']]
        mtu = net['mtu']
        ip_batch(lab.ns(host), [
            'link add %s address fe:16:3e:%s type veth peer name eth0 address %s netns %s' % (i['tap'], i['mac'][9:], i['mac'], lab.ns(guest)),
            'link add %s type bridge stp_state 0 forward_delay 0' % i['qbr'],
            'link add %s type veth peer name %s' % (i['qvb'], i['qvo']),
            'link set %s mtu %d' % (i['tap'], mtu), 'link set %s mtu %d' % (i['qvb'], mtu), 'link set %s mtu %d' % (i['qvo'], mtu),
            'link set %s master %s' % (i['tap'], i['qbr']), 'link set %s master %s' % (i['qvb'], i['qbr']),
            'link set %s up' % i['qbr'], 'link set %s up' % i['tap'], 'link set %s up' % i['qvb'], 'link set %s up' % i['qvo']])
        lab.state['links'].append({'a': [host, i['tap']], 'b': [guest, 'eth0'], 'type': 'veth'})
        nsrun(lab.ns(host), ['ethtool', '-K', i['qvo'], 'rx', 'off', 'tx', 'off'], check=False)
        nsrun(lab.ns(guest), ['ethtool', '-K', 'eth0', 'rx', 'off', 'tx', 'off'], check=False)
        ip_batch(lab.ns(guest), ['link set lo up', 'link set eth0 up'])
        self.vsctl(host, '--may-exist', 'add-port', 'br-int', i['qvo'], 'tag=%d' % model['nodes'][host]['lvids'][i['network']],
                   '--', 'set', 'interface', i['qvo'],
                   'external_ids:iface-id=%s' % i['port_id'], 'external_ids:attached-mac=%s' % i['mac'],
                   'external_ids:iface-status=active', 'external_ids:vm-uuid=%s' % i['uuid'])

    def firewall(self, node):
        """The agent's iptables_hybrid chains on ``node`` for the ports of its instances (none on the network node)."""
        ports = [(i['port_id'], i['tap'], i['fixed_ip'], i['mac']) for i in self.lab.model['instances'].values() if i['host'] == node]
        if not ports:
            return
        ns = self.lab.ns(node)
        nsrun(ns, ['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1'])
        nsrun(ns, ['iptables-restore'], input=filter_table(ports))

    def _boot(self, i):
        self.dhcp(i)
        self.lab.state['instances'][i['hostname']] = {'lease': i['fixed_ip']}

    # ------------------------------------------------------------------ inventory
    def inventory_vars(self):
        """What the inventory tells of an ML2/OVS cloud beyond the hosts: where the DHCP agent keeps its files on the
        network node (``dhcp_confs``, /var/lib/neutron/dhcp on a real one)."""
        ctl = self.lab.model['network_node']
        return {'netdiag_neutron_dhcp_confs': self.lab.hostdir(ctl, 'var', 'lib', 'neutron', 'dhcp')}
