#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: libvirt_domain_info
short_description: Instances' libvirt domains - nova metadata, interfaces (vnet, MAC, bridge), console log
version_added: 0.1.0
description:
  - Reads libvirt domain XML from a file, from every C(instance-*.xml) of a directory (C(/etc/libvirt/qemu)
    by default), or from libvirt itself through C(virsh dumpxml).
  - Where the XML comes from. With O(use_virsh=false), always from files (O(path)). Otherwise with O(uri),
    from C(virsh -c URI) (every domain of that connection, or those of O(name)). Otherwise, when O(name) is
    given, O(path) is not, and C(virsh) is installed, from C(virsh) on libvirt's default connection; if
    that connection cannot be opened (no libvirtd), the module warns and reads the files of
    C(/etc/libvirt/qemu) instead. In every other case from files.
  - C(virsh dumpxml) gives the definition of the running domain, with what only exists while it runs,
    such as the domain id and the tap device (C(<target dev='vnet0'/>)); the persistent files of
    C(/etc/libvirt/qemu) may lack the C(vnetN) names, which libvirt generates at start and leaves out of
    the persistent definition.
  - C(virsh) is run read-only (C(virsh -r)), with C(LC_ALL=C), under C(timeout) so that a libvirtd or a
    remote connection that does not answer cannot hold the module; all its C(virsh) calls together are
    bounded by O(timeout).
  - For each domain returns name, uuid, nova instance name and uuid, nova metadata (display name, flavor,
    owner, image, ports), interfaces (type, target dev such as C(vnet0), MAC, source bridge or network,
    model, MTU, nwfilter and its parameters) and the console log path (a file serial or console, or a
    C(<log file>)).
  - In directory mode a file that cannot be read or parsed does not stop the others; it is listed in
    RV(errors) and reported as problem V(libvirt_xml_invalid). A single file (O(path) a file) that is bad
    makes the module fail, naming it.
  - Uses only Python's C(xml.etree); documents with a DOCTYPE or ENTITY declaration are refused (libvirt
    never writes one), which removes entity-expansion attacks.
author:
  - cloudops.netdiag contributors (@cloudops)
extends_documentation_fragment:
  - cloudops.netdiag.attributes
  - cloudops.netdiag.attributes.info_module
options:
  path:
    description:
      - A domain XML file, or a directory of them.
      - When not given and domains are read from files, V(/etc/libvirt/qemu).
      - Giving O(path) means reading files; it cannot be combined with O(uri) unless O(use_virsh=false).
    type: path
  pattern:
    description:
      - File name pattern in directory mode.
    type: str
    default: instance-*.xml
  name:
    description:
      - Domain names (C(instance-0000000a)) or nova display names to return, in this order.
      - A name that is the libvirt name of a domain selects that domain; otherwise it selects every domain
        with that nova display name.
      - A name that matches no domain makes the module fail, naming it. So does an empty name or one with
        a control character (newline, NUL); names with spaces or a leading C(-) are passed to C(virsh) as
        they are.
    type: list
    elements: str
  uri:
    description:
      - libvirt connection URI for C(virsh -c), for example V(qemu:///system), V(qemu+ssh://root@compute1/system)
        or libvirt's test driver V(test:///default).
      - When given (and O(use_virsh) is true), domains are read through C(virsh) and nothing else; a connection
        that cannot be opened, or C(virsh) not installed, makes the module fail.
      - Without O(name), every domain of the connection is returned (running and shut off).
    type: str
  use_virsh:
    description:
      - Whether C(virsh dumpxml) may be used (see the description for when it is).
      - V(false) reads files only; O(uri) is then ignored with a warning.
    type: bool
    default: true
  timeout:
    description:
      - Seconds that all C(virsh) calls of the module run may take together (a listing plus one
        C(virsh dumpxml) per domain). When they take longer, C(virsh) is stopped and the module fails
        (or, on the default connection without O(uri), warns and reads files).
      - More than 0 and at most 3600.
    type: float
    default: 30
  mac:
    description:
      - Only domains with an interface having one of these MACs (any case).
    type: list
    elements: str
  uuid:
    description:
      - Only domains with one of these uuids (libvirt uuid or nova instance uuid).
    type: list
    elements: str
notes:
  - C(virsh) comes with the C(libvirt-clients) package (Debian, Ubuntu) or C(libvirt-client) (RHEL family);
    C(timeout) with coreutils.
seealso:
  - module: cloudops.netdiag.bridge_info
  - module: cloudops.netdiag.console_log_info
  - name: virsh manual page
    description: C(virsh dumpxml), C(virsh list), connection URIs.
    link: https://www.libvirt.org/manpages/virsh.html
'''

EXAMPLES = r'''
- name: The domain that owns a MAC (files of /etc/libvirt/qemu)
  cloudops.netdiag.libvirt_domain_info:
    mac: ['fa:16:3e:56:0b:6f']
  register: dom

- name: Its vnet and bridge
  ansible.builtin.debug:
    msg: "{{ dom.domains[0].interfaces | map(attribute='target_dev') | list }} on {{ dom.domains[0].interfaces[0].source_bridge }}"

- name: One running domain through virsh on the default connection (files if libvirtd does not answer)
  cloudops.netdiag.libvirt_domain_info:
    name: [instance-0000000a]

- name: The running domain that owns a MAC, asked from libvirtd (with its vnet)
  cloudops.netdiag.libvirt_domain_info:
    uri: qemu:///system
    mac: ['fa:16:3e:56:0b:6f']
    timeout: 10

- name: Offline analysis of copied XML files, even on a host that runs libvirtd
  cloudops.netdiag.libvirt_domain_info:
    path: /tmp/compute1-qemu
    name: [instance-0000000a]
    use_virsh: false
'''

RETURN = r'''
method:
  description: Where the domains were read from, V(virsh) or V(files).
  returned: always
  type: str
  sample: virsh
domains:
  description:
    - One entry per domain; in O(name) order when O(name) is given, else sorted by file name (files) or by
      domain name (virsh).
    - C(source) is the file, or the C(virsh) command (C(virsh -c URI dumpxml NAME)) that gave the XML.
    - C(id) is the id libvirt gives a running domain; null for a shut-off domain and usually in files.
  returned: always
  type: list
  elements: dict
  sample:
    - source: /etc/libvirt/qemu/instance-0000000a.xml
      name: instance-0000000a
      id: null
      uuid: 0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11
      instance_name: instance-0000000a
      instance_uuid: 0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11
      display_name: test
      nova: {name: test, flavor: {name: m1.tiny, vcpus: 1, memory: 512}, owner: {user: demo, project: demo}}
      interfaces:
        - {type: bridge, mac: 'fa:16:3e:56:0b:6f', target_dev: vnet0, source_bridge: br100, model: virtio, mtu: null}
      console_log: /var/lib/nova/instances/0b6a5a9e-8f1c-4d2e-9a51-3c1f0e0c7d11/console.log
errors:
  description: Files that could not be read or parsed in directory mode, with the error.
  returned: always
  type: list
  elements: dict
  sample: [{path: /etc/libvirt/qemu/instance-0000000c.xml, error: "... is not well-formed XML: unclosed token: line 1, column 83"}]
problems:
  description: >-
    V(libvirt_xml_invalid), V(libvirt_duplicate_mac) (one MAC on two domains),
    V(libvirt_interface_without_bridge), each with code, message and object.
  returned: always
  type: list
  elements: dict
  sample: [{code: libvirt_duplicate_mac, object: 'fa:16:3e:56:0b:6f', message: MAC fa:16:3e:56:0b:6f is used by instance-0000000a, instance-0000000d}]
'''

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import NetdiagModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._gather import run_module


def main():
    run_module(NetdiagModule, 'libvirt_domain_info')


if __name__ == '__main__':
    main()
