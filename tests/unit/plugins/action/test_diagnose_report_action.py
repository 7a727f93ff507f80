# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloudops.netdiag.diagnose_report and the diagnose filters, run by ansible-playbook on localhost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
sys.path.insert(0, os.path.join(REPO, 'tests', 'unit', 'plugins', 'plugin_utils'))

from diagnose_evidence import healthy, iface, with_hops  # noqa: E402  pylint: disable=wrong-import-position

# the repo's venv when run by pytest, ansible-test's own ansible-playbook when run by `ansible-test units`
PLAYBOOK = shutil.which('ansible-playbook', path=os.path.dirname(sys.executable)) or shutil.which('ansible-playbook')


def _collections_path():
    # ansible-test runs this from a copy at .../ansible_collections/cloudops/netdiag; the repo reaches itself through .venv
    parts = REPO.split(os.sep)
    if len(parts) > 3 and parts[-3] == 'ansible_collections':
        return os.sep.join(parts[:-3])
    return os.path.join(REPO, '.venv', 'collections')


PLAY = '''
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Report
      cloudops.netdiag.diagnose_report:
        evidence: "{{ evidence }}"
        query: "{{ query }}"
        timings: "{{ {'start': 100.0, 'facts': 101.5, 'ladder': 103.0} | cloudops.netdiag.netdiag_phase_durations }}"
        dest_dir: "{{ dest }}"
      register: out
    - name: Filters give the same verdict
      ansible.builtin.assert:
        that:
          - (evidence | cloudops.netdiag.netdiag_verdict).cause == out.verdict.cause
          - (evidence | cloudops.netdiag.netdiag_report(out.verdict)).verdict.status == out.verdict.status
          - (out.report | cloudops.netdiag.netdiag_report_markdown).startswith('# Network diagnosis')
          - (out.report | cloudops.netdiag.netdiag_report_html) is search('<div class=.path. id=.path.>')
    - name: Result
      ansible.builtin.copy:
        content: "{{ {'changed': out.changed, 'files': out.files, 'cause': out.verdict.cause, 'timings': out.report.timings} | to_json }}"
        dest: "{{ dest }}/result.txt"
        mode: "0644"
'''


def _play(tmp_path, evidence, query, check=False):
    (tmp_path / 'play.yml').write_text(PLAY)
    (tmp_path / 'vars.json').write_text(json.dumps({'evidence': evidence, 'query': query, 'dest': str(tmp_path / 'out')}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=_collections_path())
    argv = [PLAYBOOK, str(tmp_path / 'play.yml'), '-i', 'localhost,',
            '-e', '@%s' % (tmp_path / 'vars.json'), '-e', 'ansible_python_interpreter=%s' % sys.executable]
    if check:
        argv.append('--check')
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)


def test_writes_three_files_idempotently(tmp_path):
    ev = healthy()
    ev['_hops_inputs']['guest_host'] = 'guest-test'
    iface(ev, 'mynode', 'vnet1')['flags'] = ['BROADCAST', 'MULTICAST']
    ev = with_hops(ev)
    res = _play(tmp_path, ev, 'test/../x')
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads((tmp_path / 'out' / 'result.txt').read_text())
    assert out['changed'] is True and out['cause'] == 'vnet_down'
    assert out['timings'] == {'facts': 1.5, 'ladder': 1.5, 'total': 3.0}
    # a hostile name cannot leave the report directory
    assert sorted(os.path.basename(p) for p in out['files'].values()) == ['test_.._x.html', 'test_.._x.json', 'test_.._x.md']
    with open(os.path.join(REPO, 'schemas', 'diagnose_report.schema.json'), encoding='utf-8') as f:
        schema = json.load(f)
    report = json.loads((tmp_path / 'out' / 'test_.._x.json').read_text())
    jsonschema.Draft202012Validator(schema).validate(report)
    assert oct(os.stat(tmp_path / 'out' / 'test_.._x.html').st_mode & 0o777) == '0o644'
    # same evidence again: the report only differs by its timestamp, so the files change; check mode writes nothing
    before = {p: os.stat(p).st_mtime_ns for p in out['files'].values()}
    res = _play(tmp_path, ev, 'test/../x', check=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert {p: os.stat(p).st_mtime_ns for p in out['files'].values()} == before


def test_bad_evidence_is_one_clear_error(tmp_path):
    res = _play(tmp_path, {'instance': 'not a dict'}, 'vm1')
    assert res.returncode != 0
    assert 'diagnose_report: evidence.instance must be the instance found by nova_network_info' in res.stdout + res.stderr
    assert 'Traceback' not in res.stdout + res.stderr
