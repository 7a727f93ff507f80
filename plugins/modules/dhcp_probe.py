#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: dhcp_probe
short_description: Send one DHCPDISCOVER and report every DHCPOFFER, without ever taking a lease
version_added: 1.0.0
description:
  - Broadcasts one DHCPDISCOVER on O(interface) (optionally inside a network namespace) for a locally
    administered MAC address, waits O(timeout) seconds and returns every OFFER that came back -
    the server, the offered address and the options (router, DNS servers, lease time, subnet mask, domain).
  - It never sends a DHCPREQUEST, so no lease is bound and nothing is written to the server's lease
    database; an OFFER only holds the address for a moment.
  - On a nova-network host dnsmasq serves a C(static) range and answers only MACs in its hosts file.
    A random MAC then gets no OFFER, and dnsmasq logs C(DHCPDISCOVER(br100) <mac> no address available).
    An empty RV(offers) for a random MAC is therefore expected; the log line proves that dnsmasq is alive
    and answering. Use O(mac) with an instance's MAC only while that instance is down, or
    expect its real lease to be offered.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
  - cloudops.netdiag.netns
  - cloudops.netdiag.probe_start
options:
  interface:
    description:
      - Interface to send the DISCOVER on (the instance's bridge on a compute node, for example C(br100)).
    type: str
    required: true
  mac:
    description:
      - Client MAC address to ask for. It must be locally administered (the 0x02 bit of the first octet set)
        and unicast. A random one is made when omitted.
    type: str
  timeout:
    description:
      - Seconds to collect OFFERs after sending the DISCOVER.
    type: float
    default: 3
  hostname:
    description:
      - Host name option (12) to send with the DISCOVER.
    type: str
notes:
  - Needs root (or CAP_NET_BIND_SERVICE and CAP_NET_RAW) to bind UDP port 68 on the interface. Fails with a
    clear message when a DHCP client already holds that port on the host.
  - Read-only, no lease is kept. The server may log the DISCOVER.
seealso:
  - module: cloudops.netdiag.packet_capture
'''

EXAMPLES = r'''
- name: Is the dnsmasq of br100 answering at all?
  cloudops.netdiag.dhcp_probe:
    interface: br100
    timeout: 3
  register: dhcp

- name: Ask as a known (stopped) instance would, from inside its namespace
  cloudops.netdiag.dhcp_probe:
    netns: tenant-a
    interface: eth0
    mac: "02:16:3e:56:0b:6f"
'''

RETURN = r'''
mac:
  description: The client MAC the DISCOVER was sent for.
  returned: always
  type: str
  sample: "02:5a:11:c3:09:e2"
xid:
  description: Transaction id of the DISCOVER.
  returned: always
  type: int
  sample: 2831015117
interface:
  description: The interface used.
  returned: always
  type: str
  sample: br100
netns:
  description: The namespace used (O(netns)).
  returned: always
  type: str
  sample: null
sent_at:
  description: Epoch seconds when the DISCOVER was sent.
  returned: always
  type: float
  sample: 1795637674.21
offers:
  description: Every OFFER (and NAK) received for this DISCOVER, in arrival order.
  returned: always
  type: list
  elements: dict
  sample:
    - message_type: OFFER
      server_id: 10.0.2.1
      from: 10.0.2.1
      offered_address: 10.0.2.24
      lease_time: 120
      subnet_mask: 255.255.255.0
      router: [10.0.2.1]
      dns_servers: [10.0.2.1]
      domain_name: novalocal
      latency_ms: 0.91
  contains:
    message_type:
      description: V(OFFER) (or V(NAK)).
      returned: always
      type: str
      sample: OFFER
    server_id:
      description: Server identifier option (54).
      returned: always
      type: str
      sample: 10.0.2.1
    from:
      description: Source address of the reply datagram.
      returned: always
      type: str
      sample: 10.0.2.1
    offered_address:
      description: The address offered (yiaddr).
      returned: always
      type: str
      sample: 10.0.2.24
    lease_time:
      description: Lease time in seconds (option 51).
      returned: always
      type: int
      sample: 120
    subnet_mask:
      description: Option 1.
      returned: always
      type: str
      sample: 255.255.255.0
    router:
      description: Option 3.
      returned: always
      type: list
      elements: str
      sample: [10.0.2.1]
    dns_servers:
      description: Option 6.
      returned: always
      type: list
      elements: str
      sample: [10.0.2.1]
    domain_name:
      description: Option 15.
      returned: always
      type: str
      sample: novalocal
    hostname:
      description: Option 12 (nova's hosts file gives the instance name).
      returned: always
      type: str
      sample: inst-24
    mtu:
      description: Option 26.
      returned: always
      type: int
      sample: 1500
    latency_ms:
      description: Milliseconds from the DISCOVER to this reply.
      returned: always
      type: float
      sample: 0.91
    options:
      description: Codes of every option present.
      returned: always
      type: list
      elements: int
      sample: [1, 3, 6, 15, 28, 51, 53, 54, 58, 59]
problems:
  description: V(dhcp_no_offer) when nothing answered within O(timeout); V(dhcp_nak) for a NAK.
  returned: always
  type: list
  elements: dict
  sample:
    - code: dhcp_no_offer
      message: no DHCPOFFER on br100 within 3.0 s for 02:5a:11:c3:09:e2
      object: br100
'''

import os
import re
import socket
import struct

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._capture import module_start_instant, sleep_until
from ansible_collections.cloudops.netdiag.plugins.module_utils._dhcpprobe import (
    DhcpError, open_socket, probe, random_mac, validate_mac)
from ansible_collections.cloudops.netdiag.plugins.module_utils._netns import NetnsError, enter_netns

_IFNAME = re.compile(r'^[A-Za-z0-9_.:@+-]{1,15}$')
_HOST = re.compile(r'^[A-Za-z0-9][A-Za-z0-9-]{0,62}$')


def main():
    module = NetdiagModule(
        argument_spec=dict(
            interface=dict(type='str', required=True),
            netns=dict(type='str'),
            mac=dict(type='str'),
            timeout=dict(type='float', default=3),
            hostname=dict(type='str'),
            start_at=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    start_at = module_start_instant(module, p['start_at'])
    if not _IFNAME.match(p['interface']):
        module.fail_json(msg='invalid interface name %r' % (p['interface'],))
    if not 0 < p['timeout'] <= 60:
        module.fail_json(msg='timeout must be more than 0 and at most 60 seconds, got %s' % p['timeout'])
    if p['hostname'] is not None and not _HOST.match(p['hostname']):
        module.fail_json(msg='invalid hostname %r' % (p['hostname'],))
    try:
        mac = validate_mac(p['mac']) if p['mac'] else random_mac()
    except DhcpError as exc:
        module.fail_json(msg=str(exc))
    xid = struct.unpack('!I', os.urandom(4))[0]
    where = ' in namespace %s' % p['netns'] if p['netns'] else ''
    try:
        with enter_netns(p['netns']):
            if not _iface_exists(p['interface']):
                module.fail_json(msg='interface %s does not exist%s' % (p['interface'], where))
            sock = open_socket(p['interface'])
        try:
            sleep_until(start_at)
            sent, offers = probe(sock, mac, xid, p['timeout'], hostname=p['hostname'])
        finally:
            sock.close()
    except NetnsError as exc:
        module.fail_json(msg='cannot probe DHCP from namespace: %s' % exc)
    except DhcpError as exc:
        module.fail_json(msg='DHCP probe on %s%s failed: %s' % (p['interface'], where, exc))
    problems = []
    if not [o for o in offers if o['message_type'] == 'OFFER']:
        problems.append({'code': 'dhcp_no_offer', 'object': p['interface'],
                         'message': 'no DHCPOFFER on %s%s within %s s for %s' % (p['interface'], where, p['timeout'], mac)})
    for offer in offers:
        if offer['message_type'] == 'NAK':
            problems.append({'code': 'dhcp_nak', 'object': p['interface'],
                             'message': 'DHCPNAK from %s: %s' % (offer['server_id'] or offer['from'], offer['message'] or '')})
    module.exit_json(changed=False, mac=mac, xid=xid, interface=p['interface'], netns=p['netns'], sent_at=sent,
                     offers=offers, problems=problems)


def _iface_exists(name):
    """Ask the kernel (in the current namespace; /sys would show the namespace that mounted it)."""
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


if __name__ == '__main__':
    main()
