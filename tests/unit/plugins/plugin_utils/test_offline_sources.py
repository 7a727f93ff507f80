# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad sources for the offline verdict: one clear message naming what is wrong, never a traceback, nothing written.

The good sources (real sosreports and bundles of the lab) and the playbook's messages are tested in
tests/integration/offline/."""

from __future__ import annotations

import io
import os
import tarfile

import pytest

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _offline

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
FIX = os.path.join(REPO, 'tests', 'unit', 'fixtures')


def _load(path, tmp_path):
    work = tmp_path / 'work'
    work.mkdir(exist_ok=True)
    return _offline.load(str(path), str(work))


def _sos_tree(root, ip_text=None, xml=True):
    """A minimal sosreport tree from the collection's real fixtures."""
    (root / 'sos_commands' / 'networking').mkdir(parents=True)
    (root / 'sos_logs').mkdir()
    (root / 'version.txt').write_text('sosreport: 4.0\n')
    with open(os.path.join(FIX, 'sosreport', 'forward_drop.iptables_-vnxL.nft.txt'), encoding='utf-8') as f:
        (root / 'sos_commands' / 'networking' / 'iptables_-vnxL').write_text(f.read())
    if ip_text is not None:
        (root / 'sos_commands' / 'networking' / 'ip_-d_address').write_text(ip_text)
    if xml:
        (root / 'etc' / 'libvirt' / 'qemu').mkdir(parents=True)
        (root / 'etc' / 'libvirt' / 'qemu' / 'instance-00000001.xml').write_text(
            "<domain type='kvm'><name>instance-00000001</name><uuid>52c6263e-4877-5867-9b57-fe094126be32</uuid><devices>"
            "<interface type='bridge'><mac address='fa:16:3e:56:0b:6f'/><source bridge='br100'/><target dev='vnet0'/>"
            "</interface></devices></domain>")
    return root


def _file(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def _dir(path):
    path.mkdir()
    return path


@pytest.mark.parametrize('make, message', [
    (lambda p: p / 'nowhere', 'does not exist'),
    (lambda p: _dir(p / 'empty'), 'no sosreport and no collected bundle'),
    (lambda p: _file(p / 'foreign' / 'notes.txt', 'hello').parent, 'no sosreport and no collected bundle'),
    (lambda p: _file(p / 'garbage.bin', b'\x00\x01garbage'), 'neither a sosreport archive'),
    (lambda p: _file(p / 'host.json', '{"host": "c1", "modu'), 'is not JSON'),
    (lambda p: _file(p / 'host.json', '{"hello": 1}'), 'not a host document'),
    (lambda p: _file(p / 'fake.tar.xz', b'not xz at all'), 'cannot be read'),
], ids=['missing', 'empty', 'foreign', 'garbage', 'truncated-json', 'foreign-json', 'fake-archive'])
def test_bad_source_is_named(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(_offline.OfflineError, match=message) as exc:
        _load(path, tmp_path)
    assert str(path) in str(exc.value) or 'source' in str(exc.value)


def _archive(src, dest, mode='w:xz'):
    with tarfile.open(dest, mode) as tar:
        tar.add(src, arcname=os.path.basename(src))
    return dest


def test_truncated_archive_is_named(tmp_path):
    tree = _sos_tree(tmp_path / 'sosreport-c1-2026-12-07-abcdef', ip_text='')
    arc = _archive(str(tree), str(tmp_path / 'r.tar.xz'))
    data = open(arc, 'rb').read()
    with open(arc, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(_offline.OfflineError, match='truncated or not a tar archive'):
        _load(arc, tmp_path)


def test_archive_member_outside_is_refused(tmp_path):
    arc = str(tmp_path / 'evil.tar.gz')
    with tarfile.open(arc, 'w:gz') as tar:
        info = tarfile.TarInfo('../../etc/evil')
        info.size = 4
        tar.addfile(info, io.BytesIO(b'evil'))
    with pytest.raises(_offline.OfflineError, match='outside the report'):
        _load(arc, tmp_path)
    assert not os.path.exists(tmp_path / 'etc' / 'evil')


def test_garbage_command_output_fails_that_fact_alone(tmp_path):
    tree = _sos_tree(tmp_path / 'sosreport-c1-2026-12-07-abcdef', ip_text='\x1b[31mthis is not ip output\n')
    hosts, errors = _load(tree, tmp_path)
    assert errors == [] and hosts[0]['host'] == 'c1'
    f = hosts[0]['facts']
    assert f['interface_info']['failed'] and 'cannot read interfaces' in f['interface_info']['msg']
    assert f['iptables_info']['summary']['rules'] > 0
    ev = _offline.evidence(hosts, 'instance-00000001')
    v = _engine.evaluate(ev)
    # the rules that need the interfaces say so instead of guessing
    assert any('interfaces' in u['reason'] for u in v['unchecked']), v['unchecked']
    assert any('interface_info on c1' in e for e in ev['fact_errors'])


def test_instance_not_found_lists_what_is_there(tmp_path):
    tree = _sos_tree(tmp_path / 'sosreport-c1-2026-12-07-abcdef', ip_text='')
    hosts, dummy = _load(tree, tmp_path)
    with pytest.raises(_offline.OfflineError, match=r'instance web-9 is not among the libvirt domains of c1 \(domains: instance-00000001'):
        _offline.evidence(hosts, 'web-9')
    with pytest.raises(_offline.OfflineError, match='instance must be'):
        _offline.evidence(hosts, '  ')


def test_report_without_domains_says_so(tmp_path):
    tree = _sos_tree(tmp_path / 'sosreport-c1-2026-12-07-abcdef', ip_text='', xml=False)
    hosts, dummy = _load(tree, tmp_path)
    assert 'libvirt_domain_info' in hosts[0]['missing']
    with pytest.raises(_offline.OfflineError, match='no libvirt domain could be read in the reports of c1'):
        _offline.evidence(hosts, 'vm1')


def test_unreadable_members_do_not_hide_the_rest(tmp_path):
    d = tmp_path / 'esc'
    d.mkdir()
    _sos_tree(d / 'sosreport-c1-2026-12-07-abcdef', ip_text='')
    (d / 'broken.tar.gz').write_bytes(b'\x1f\x8b broken')
    hosts, errors = _load(d, tmp_path)
    assert [h['host'] for h in hosts] == ['c1']
    assert len(errors) == 1 and 'broken.tar.gz' in errors[0]
