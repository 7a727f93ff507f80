# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NetdiagModule: a NUL character in a parameter reaches the module's own validation, not a syslog error.

Python 3.12 made ``syslog.syslog()`` refuse NUL characters, and AnsibleModule logs every parameter
before the module runs: ``instance: "web\\x0001"`` failed with "Failed to log to syslog (embedded null
character)". The end-to-end check runs a module with such a parameter under a Python that refuses
NULs in syslog (3.12+, from PATH or pyenv); it is skipped where there is none.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import shutil
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cloudops.netdiag.plugins.module_utils._basemodule import _escape_nul

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))


def test_escape_nul_keeps_the_evidence():
    assert _escape_nul('web\x0001') == 'web\\x0001'
    assert _escape_nul(b'a\x00b\x00') == b'a\\x00b\\x00'
    assert _escape_nul('plain') == 'plain'
    assert _escape_nul(7) == 7


def _python_refusing_nul_in_syslog():
    candidates = [shutil.which('python3.13'), shutil.which('python3.12')]
    candidates += sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/3.1[2-9]*/bin/python3')))
    for py in filter(None, candidates):
        probe = subprocess.run([py, '-c', 'import syslog; syslog.syslog("netdiag probe \\x00")'],
                               capture_output=True, text=True, check=False)
        if probe.returncode != 0 and 'null' in probe.stderr:
            return py
    return None


def _import_roots():
    # the collection root above ansible_collections, and where this interpreter finds ansible-core and PyMySQL
    # (both pure Python; under ansible-test they live in different places)
    import ansible  # pylint: disable=import-outside-toplevel
    import pymysql  # pylint: disable=import-outside-toplevel

    coll = os.path.join(REPO, '.venv', 'collections')
    parts = REPO.split(os.sep)
    if len(parts) > 3 and parts[-3] == 'ansible_collections':
        coll = os.sep.join(parts[:-3])
    return [coll] + sorted(set(os.path.dirname(os.path.dirname(m.__file__)) for m in (ansible, pymysql)))


@pytest.mark.parametrize('module,args,expected', [
    ('nova_network_info', {'instance': 'web\x0001'}, 'control characters'),
    ('floating_ip_disassociate', {'instance': 'web\x0001'}, 'control characters'),
    ('nova_conf_info', {'path': '/nonexistent\x00/nova.conf'}, 'parameter path: the path'),
])
def test_nul_parameter_reaches_the_module_under_python_312(tmp_path, module, args, expected):
    py = _python_refusing_nul_in_syslog()
    if py is None:
        pytest.skip('no Python here whose syslog refuses NUL characters (3.12+)')
    args_file = tmp_path / 'args.json'
    args = dict(args)
    if module != 'nova_conf_info':
        args.update(login_unix_socket=str(tmp_path / 'nothing.sock'), login_user='nova', config_file='', connect_timeout=2)
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(_import_roots()), PYTHONDONTWRITEBYTECODE='1')
    proc = subprocess.run([py, os.path.join(REPO, 'plugins', 'modules', module + '.py'), str(args_file)],
                          capture_output=True, text=True, env=env, check=False, timeout=60)
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.stderr
    res = json.loads(proc.stdout)
    assert res.get('failed') and expected in res['msg'], res
    assert 'syslog' not in res['msg']


@pytest.mark.parametrize('module,option,extra', [
    ('console_log_info', 'path', {}),
    ('console_log_info', 'instances_dir', {'instance_uuid': 'f0e1d2c3-0000-4000-8000-000000000001'}),
    ('dnsmasq_info', 'state_dir', {}),
    ('dnsmasq_info', 'log_path', {}),
    ('dnsmasq_restart', 'pid_file', {}),
    ('floating_ip_disassociate', 'backup_dir', {'address': '203.0.113.9'}),
    ('floating_ip_disassociate', 'config_file', {'address': '203.0.113.9'}),
    ('libvirt_domain_info', 'path', {}),
    ('nova_conf_info', 'path', {}),
    ('nova_network_info', 'ca_cert', {'audit': True}),
    ('packet_capture', 'pcap_dir', {'interface': 'lo'}),
])
def test_nul_in_a_path_is_one_clear_error(capsys, module, option, extra):
    mod = importlib.import_module('ansible_collections.cloudops.netdiag.plugins.modules.' + module)
    with patch_module_args(dict(extra, **{option: '/tmp/evil\x00name'})):
        with pytest.raises(SystemExit):
            mod.main()
    out = capsys.readouterr()
    assert 'Traceback' not in out.out + out.err
    res = json.loads(out.out)
    assert res['failed'] and res['msg'].startswith('parameter %s: the path ' % option), res['msg']
    assert 'evil\\x00name' in res['msg']
