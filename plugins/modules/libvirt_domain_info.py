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
    by default), or from C(virsh dumpxml) when O(name) is given and C(virsh) is installed.
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
    type: path
    default: /etc/libvirt/qemu
  pattern:
    description:
      - File name pattern in directory mode.
    type: str
    default: instance-*.xml
  name:
    description:
      - Domain names (C(instance-0000000a)) or nova display names to return.
      - When C(virsh) is installed, each name is read with C(virsh dumpxml) (the running definition); otherwise
        it filters what O(path) holds.
    type: list
    elements: str
  uri:
    description:
      - libvirt connection URI for C(virsh -c), used with O(name).
    type: str
  use_virsh:
    description:
      - Whether to ask C(virsh dumpxml) for O(name) when C(virsh) is installed.
    type: bool
    default: true
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
seealso:
  - module: cloudops.netdiag.bridge_info
  - module: cloudops.netdiag.console_log_info
'''

EXAMPLES = r'''
- name: The domain that owns a MAC
  cloudops.netdiag.libvirt_domain_info:
    mac: ['fa:16:3e:56:0b:6f']
  register: dom

- name: Its vnet and bridge
  ansible.builtin.debug:
    msg: "{{ dom.domains[0].interfaces | map(attribute='target_dev') | list }} on {{ dom.domains[0].interfaces[0].source_bridge }}"

- name: One running domain through virsh
  cloudops.netdiag.libvirt_domain_info:
    name: [instance-0000000a]
'''

RETURN = r'''
domains:
  description: One entry per domain, sorted by file name (or in O(name) order for virsh).
  returned: always
  type: list
  elements: dict
  sample:
    - source: /etc/libvirt/qemu/instance-0000000a.xml
      name: instance-0000000a
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

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cloudops.netdiag.plugins.module_utils._libvirt import (
    LibvirtError, domain_problems, filter_domains, parse_domain_xml, read_domain_dir, read_domain_file)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/libvirt/qemu'),
            pattern=dict(type='str', default='instance-*.xml'),
            name=dict(type='list', elements='str'),
            uri=dict(type='str'),
            use_virsh=dict(type='bool', default=True),
            mac=dict(type='list', elements='str'),
            uuid=dict(type='list', elements='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    domains = []
    errors = []
    names = p['name']
    try:
        virsh = module.get_bin_path('virsh') if names and p['use_virsh'] else None
        if virsh:
            for name in names:
                argv = [virsh] + (['-c', p['uri']] if p['uri'] else []) + ['dumpxml', '--', name]
                rc, out, err = module.run_command(argv, environ_update={'LC_ALL': 'C'})
                if rc != 0:
                    module.fail_json(msg='virsh dumpxml %s failed (rc %d): %s' % (name, rc, err.strip()))
                domains.append(parse_domain_xml(out, 'virsh dumpxml %s' % name))
        elif os.path.isdir(p['path']):
            domains, errors = read_domain_dir(p['path'], p['pattern'])
        else:
            domains = [read_domain_file(p['path'])]
    except LibvirtError as exc:
        module.fail_json(msg=str(exc))
    problems = domain_problems(domains, errors)
    domains = filter_domains(domains, macs=p['mac'], uuids=p['uuid'], names=None if virsh else names)
    module.exit_json(changed=False, domains=domains, errors=errors, problems=problems)


if __name__ == '__main__':
    main()
