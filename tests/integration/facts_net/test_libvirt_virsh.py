# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_domain_info through the real virsh and libvirt's in-process test driver (no libvirtd).

``virsh -c test:///ABS/PATH/node.xml`` loads tests/unit/fixtures/libvirt/testdriver/node.xml (nova-style
domains whose names, bridges and MACs the lab never uses). The module is run as Ansible runs it
(``run_module``: JSON args file, no mocks). Every test skips, saying why, when virsh is not installed.
Nothing here needs root; the one network test talks to a listener on 127.0.0.1 that it starts itself.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from urllib.parse import quote

import pytest

from facts_net_helpers import REPO, run_module  # pylint: disable=import-error
from ansible_collections.cloudops.netdiag.plugins.module_utils import _libvirt as lv

VIRSH = shutil.which('virsh')
pytestmark = pytest.mark.skipif(VIRSH is None, reason='virsh is not installed (package libvirt-clients): '
                                                      'the virsh path of libvirt_domain_info cannot be run')

FIX = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'libvirt')
NODE = os.path.join(FIX, 'testdriver', 'node.xml')
URI = 'test://' + quote(NODE)
MOD = 'libvirt_domain_info'

# what node.xml holds, as the test reads it (the module must find the same)
NOVA_NAMES = ['instance-0000002a', 'instance-0000002b', 'instance-0000002c']
ALL_NAMES = sorted(NOVA_NAMES + ['--scratch vm'])


def ok(args, env=None):
    rc, res = run_module(MOD, args, env=env)
    assert rc == 0 and not res.get('failed'), res
    return res


def failed(args, env=None):
    rc, res = run_module(MOD, args, env=env)
    assert rc != 0 and res.get('failed') is True, res
    assert isinstance(res['msg'], str) and '\n' not in res['msg'], res
    return res


def warnings(res):
    """Warning texts of a raw module result (ansible-core 2.19 returns them as structured summaries)."""
    out = []
    for w in res.get('warnings', []):
        out.append(w if isinstance(w, str) else w.get('event', {}).get('msg', str(w)))
    return out


def virsh_dumpxml(name, uri=URI):
    res = subprocess.run([VIRSH, '-r', '-c', uri, 'dumpxml', '--', name], capture_output=True, text=True,
                         timeout=30, check=True, env=dict(os.environ, LC_ALL='C'))
    return res.stdout


def node_domain_text(name):
    """The <domain> element of node.xml for ``name``, verbatim (what a persistent XML file would hold)."""
    with open(NODE, encoding='utf-8') as f:
        text = f.read()
    for block in re.findall(r'<domain\b.*?</domain>', text, re.S):
        if '<name>%s</name>' % name in block:
            return block
    raise AssertionError('%s not in %s' % (name, NODE))


def without(dom, *keys):
    return {k: v for k, v in dom.items() if k not in keys}


def test_one_name_is_the_running_definition_from_virsh():
    res = ok({'uri': URI, 'name': ['instance-0000002a']})
    assert res['method'] == 'virsh' and res['errors'] == [] and res['problems'] == []
    (dom,) = res['domains']
    assert dom['source'] == 'virsh -c %s dumpxml instance-0000002a' % URI
    assert (dom['name'], dom['uuid'], dom['instance_uuid'], dom['display_name']) == (
        'instance-0000002a', '3c9e51b2-7d40-4f8a-b6e1-2a0f5c7d9e13', '3c9e51b2-7d40-4f8a-b6e1-2a0f5c7d9e13', 'ledger-db')
    assert dom['nova']['flavor']['name'] == 'm1.medium' and dom['nova']['owner']['project'] == 'finance'
    assert [(i['type'], i['mac'], i['source_bridge'], i['model']) for i in dom['interfaces']] == [
        ('bridge', 'fa:16:3e:7c:2a:01', 'brq-7', 'virtio'), ('bridge', 'fa:16:3e:7c:2a:02', 'brq-7', 'virtio')]
    assert dom['console_log'] == '/srv/nova-x/instances/3c9e51b2-7d40-4f8a-b6e1-2a0f5c7d9e13/console.log'
    # Runtime-only data, which node.xml does not hold: the domain id of the running domain, and the
    # target devs the test driver generates (testnetN, replacing the vnet17 node.xml writes and filling
    # the one it leaves out). So the result is virsh's answer, not the node file.
    assert dom['id'] == 1
    assert [i['target_dev'] for i in dom['interfaces']] == ['testnet0', 'testnet1']
    node = lv.parse_domain_xml(node_domain_text('instance-0000002a'), 'node.xml')
    assert [i['target_dev'] for i in node['interfaces']] == ['vnet17', None] and node['id'] is None
    # and exactly what `virsh dumpxml` prints, parsed
    assert without(dom, 'source') == without(lv.parse_domain_xml(virsh_dumpxml('instance-0000002a')), 'source')


def test_shut_off_domain_has_no_id():
    (dom,) = ok({'uri': URI, 'name': ['instance-0000002c']})['domains']
    assert dom['id'] is None and dom['display_name'] == 'web-7'
    assert [(i['mac'], i['source_bridge']) for i in dom['interfaces']] == [('fa:16:3e:7c:2c:01', 'brq-9')]


def test_several_names_in_the_order_asked_including_display_names():
    res = ok({'uri': URI, 'name': ['web-7', 'instance-0000002a', 'queue-worker', 'instance-0000002a']})
    assert [d['name'] for d in res['domains']] == ['instance-0000002c', 'instance-0000002a', 'instance-0000002b']
    net = res['domains'][2]['interfaces'][0]
    assert (net['type'], net['source_network'], net['source_bridge'], net['mac']) == (
        'network', 'tenant-net-b', None, 'fa:16:3e:7c:2b:01')
    assert res['domains'][2]['nova']['ports'][0]['ips'][0]['address'] == '172.31.40.17'


def test_uri_without_name_returns_every_domain_and_filters_apply():
    res = ok({'uri': URI})
    assert [d['name'] for d in res['domains']] == ALL_NAMES
    assert [d['id'] is not None for d in res['domains']] == [True, True, True, False]
    by_mac = ok({'uri': URI, 'mac': ['FA:16:3E:7C:2B:01']})['domains']
    assert [d['name'] for d in by_mac] == ['instance-0000002b']
    by_uuid = ok({'uri': URI, 'uuid': ['3C9E51B2-7D40-4F8A-B6E1-2A0F5C7D9E13']})['domains']
    assert [d['name'] for d in by_uuid] == ['instance-0000002a']
    # filters narrow the named domains; a filter matching nothing is an empty answer, not a failure
    assert ok({'uri': URI, 'name': ['instance-0000002a'], 'mac': ['fa:16:3e:7c:2b:01']})['domains'] == []
    # a legal name with a leading '--' and a space reaches virsh intact (it follows --; virsh would take it for an option)
    (odd,) = ok({'uri': URI, 'name': ['--scratch vm']})['domains']
    assert odd['uuid'] == '00c0ffee-0000-4000-8000-00000000beef' and odd['nova'] is None


def test_virsh_and_file_paths_agree(tmp_path):
    virsh_res = {d['name']: d for d in ok({'uri': URI})['domains']}
    for name in NOVA_NAMES:
        # 1. virsh's own output saved as a file: the file path of the module gives the same domain
        saved = tmp_path / ('%s.xml' % name)
        saved.write_text(virsh_dumpxml(name), encoding='utf-8')
        (from_file,) = ok({'path': str(saved)})['domains']
        assert from_file['source'] == str(saved)
        assert without(from_file, 'source') == without(virsh_res[name], 'source'), name
        # 2. the definition as node.xml writes it: same domain, minus what only the running domain has
        written = tmp_path / 'written' / ('%s.xml' % name)
        written.parent.mkdir(exist_ok=True)
        written.write_text(node_domain_text(name), encoding='utf-8')
        (node,) = ok({'path': str(written)})['domains']
        live = virsh_res[name]
        same = ('name', 'uuid', 'instance_uuid', 'display_name', 'nova', 'console_log', 'type')
        assert {k: node[k] for k in same} == {k: live[k] for k in same}, name
        strip = [without(i, 'target_dev') for i in node['interfaces']]
        assert strip == [without(i, 'target_dev') for i in live['interfaces']], name
        assert all(i['target_dev'].startswith('testnet') for i in live['interfaces'])
    # directory mode on the written files finds the same three domains
    res = ok({'path': str(tmp_path / 'written')})
    assert res['method'] == 'files' and [d['name'] for d in res['domains']] == NOVA_NAMES


def test_default_connection_is_used_for_names_when_no_path_and_no_uri():
    res = ok({'name': ['queue-worker']}, env={'LIBVIRT_DEFAULT_URI': URI})
    assert res['method'] == 'virsh'
    assert [(d['name'], d['source']) for d in res['domains']] == [('instance-0000002b', 'virsh dumpxml instance-0000002b')]


def test_explicit_path_and_use_virsh_false_read_files():
    qemu = os.path.join(FIX, 'qemu')
    # libvirt could answer (LIBVIRT_DEFAULT_URI), but an explicit path means files
    res = ok({'path': qemu, 'name': ['web-1']}, env={'LIBVIRT_DEFAULT_URI': URI})
    assert res['method'] == 'files' and [d['name'] for d in res['domains']] == ['instance-0000000b']
    assert res['domains'][0]['source'] == os.path.join(qemu, 'instance-0000000b.xml')
    # use_virsh: false wins over uri, with a warning saying so
    res = ok({'uri': URI, 'use_virsh': False, 'path': qemu, 'mac': ['fa:16:3e:56:0b:6f']})
    assert res['method'] == 'files' and [d['name'] for d in res['domains']] == ['instance-0000000a']
    assert warnings(res) == ['uri %s is ignored: use_virsh is false, domains are read from files' % URI]


def test_default_connection_down_warns_and_falls_back_to_files():
    if os.path.exists('/etc/libvirt/qemu'):
        pytest.skip('/etc/libvirt/qemu exists here; this test needs it absent to see the fallback end')
    missing = '/nonexistent-%d/node.xml' % os.getpid()
    res = failed({'name': ['instance-0000002a']}, env={'LIBVIRT_DEFAULT_URI': 'test://' + missing})
    assert res['msg'] == 'libvirt domain directory /etc/libvirt/qemu does not exist'
    (warning,) = warnings(res)
    assert "virsh cannot list the domains of libvirt's default connection" in warning
    assert 'failed to connect to the hypervisor' in warning and missing in warning
    assert warning.endswith('; read the domain XML files of /etc/libvirt/qemu instead')


@pytest.mark.parametrize('name,want', [
    ('instance-00000099', "no libvirt domain named 'instance-00000099' on %s (4 domains there: %s)" % (URI, ', '.join(ALL_NAMES))),
    ('-x', "no libvirt domain named '-x' on %s" % URI),
    ('--help', "no libvirt domain named '--help' on %s" % URI),
    ('instance-0000002a; list', "no libvirt domain named 'instance-0000002a; list' on %s" % URI),
    ('instance 0000002a', "no libvirt domain named 'instance 0000002a' on %s" % URI),
    ('instance-0000002a\nlist', "domain name 'instance-0000002a\\nlist' contains a control character"),
    ('nul\x00byte', "domain name 'nul\\x00byte' contains a control character"),
    ('  ', 'empty domain name in name'),
])
def test_unknown_or_hostile_names_fail_naming_them(name, want):
    res = failed({'uri': URI, 'name': ['instance-0000002a', name]})
    assert res['msg'].startswith(want), res['msg']


@pytest.mark.parametrize('uri,detail', [
    # virsh 9.0.0 says: I/O warning : failed to load external entity "/nonexistent-dir/node.xml"; failed to connect
    # to the hypervisor; XML error: failed to parse xml document '/nonexistent-dir/node.xml'
    ('test:///nonexistent-dir/node.xml', '/nonexistent-dir/node.xml'),
    # virsh 9.0.0: failed to connect to the hypervisor; no connection driver available for URI '-x'
    ('-x', "'-x'"),
])
def test_uri_that_cannot_be_opened_fails_naming_it(uri, detail):
    res = failed({'uri': uri, 'name': ['instance-0000002a']})
    assert res['msg'].startswith('cannot list the libvirt domains of %s with virsh: ' % uri), res['msg']
    assert 'failed to connect to the hypervisor' in res['msg'] and detail in res['msg'].split(' with virsh: ', 1)[1]


def test_bad_option_combinations():
    res = failed({'uri': URI, 'path': os.path.join(FIX, 'qemu')})
    assert res['msg'].startswith('uri (%s) and path (%s) exclude each other' % (URI, os.path.join(FIX, 'qemu')))
    for t in (0, -1, 3601):
        assert failed({'uri': URI, 'timeout': t})['msg'] == 'timeout must be more than 0 and at most 3600 seconds, got %s' % float(t)


def test_uri_without_virsh_installed_fails_clearly(tmp_path):
    sbin = [d for d in ('/sbin', '/usr/sbin', '/usr/local/sbin') if os.path.exists(os.path.join(d, 'virsh'))]
    if sbin:
        pytest.skip('virsh is in %s, which Ansible always searches' % sbin[0])
    res = failed({'uri': URI}, env={'PATH': str(tmp_path)})
    assert res['msg'] == 'uri %s needs virsh (package libvirt-clients or libvirt-client), which is not installed' % URI


class SilentPeer(object):
    """A TCP listener on 127.0.0.1 that accepts and never answers (a libvirtd that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conns = []
        while not self.stop.is_set():
            try:
                conn, _peer = self.sock.accept()
                conn.settimeout(0.2)
                conns.append(conn)
                self.accepted += 1
            except socket.timeout:
                pass
            for conn in list(conns):
                try:
                    if conn.recv(65536) == b'':  # the client went away
                        self.closed += 1
                        conns.remove(conn)
                        conn.close()
                except socket.timeout:
                    pass
        for conn in conns:
            conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(10)
        self.sock.close()


def _processes_with(text):
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if text.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_connection_that_never_answers_is_bounded_by_timeout():
    peer = SilentPeer()
    try:
        uri = 'qemu+tcp://127.0.0.1:%d/system' % peer.port
        # run_module's own 60 s limit would raise if the module hung: it must end by itself
        res = failed({'uri': uri, 'name': ['instance-0000002a'], 'timeout': 2})
        assert res['msg'] == 'cannot list the libvirt domains of %s with virsh: no answer within 2 s (option timeout)' % uri
        # on the default connection (no uri) the same hang is a warning and the files are read
        res = run_module(MOD, {'name': ['instance-0000000a'], 'timeout': 1}, env={'LIBVIRT_DEFAULT_URI': uri})[1]
        assert warnings(res) == ["virsh cannot list the domains of libvirt's default connection (no answer within 1 s "
                                 "(option timeout)); read the domain XML files of /etc/libvirt/qemu instead"], res
        assert peer.accepted == 2
        # virsh really ended: its connections are closed and no virsh with this URI is left
        for _wait in range(50):
            if peer.closed == peer.accepted and not _processes_with(uri):
                break
            time.sleep(0.1)
        assert peer.closed == peer.accepted == 2
        assert _processes_with(uri) == []
    finally:
        peer.close()


def test_check_mode_gives_the_same_answer():
    normal = ok({'uri': URI, 'name': ['instance-0000002b']})
    checked = ok({'uri': URI, 'name': ['instance-0000002b'], '_ansible_check_mode': True})
    assert checked['domains'] == normal['domains'] and checked['changed'] is False


def test_unit_fixtures_are_what_this_virsh_prints():
    """The captured virsh outputs (testdriver/virsh_*) still parse to what live virsh gives."""
    for name in ('instance-0000002a', 'instance-0000002c'):
        with open(os.path.join(FIX, 'testdriver', 'virsh_dumpxml_%s.xml' % name), encoding='utf-8') as f:
            captured = lv.parse_domain_xml(f.read(), 'fixture')
        assert captured == lv.parse_domain_xml(virsh_dumpxml(name), 'fixture')
    live = subprocess.run([VIRSH, '-r', '-c', URI, 'list', '--all', '--name'], capture_output=True, text=True,
                          timeout=30, check=True).stdout
    with open(os.path.join(FIX, 'testdriver', 'virsh_list_all_name.txt'), encoding='utf-8') as f:
        assert lv.parse_virsh_names(f.read()) == lv.parse_virsh_names(live)
