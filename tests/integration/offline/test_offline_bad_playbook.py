# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""analyze_offline.yml on bad requests: one message naming the problem, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.mark.parametrize('extra, message', [
    ({'source': '/nonexistent/netdiag', 'instance': 'vm1'}, 'offline_verdict: source /nonexistent/netdiag does not exist'),
    ({'source': '/', 'instance': "vm1'; rm -rf /"}, 'offline_verdict: '),
    ({'instance': 'vm1'}, 'Give -e source='),
])
def test_playbook_names_the_problem_without_traceback(tmp_path, extra, message):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), ANSIBLE_NOCOLOR='1')
    extra = dict(extra, netdiag_report_dir=str(tmp_path / 'out'))
    res = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), os.path.join(REPO, 'playbooks', 'analyze_offline.yml'),
                          '-e', json.dumps(extra)], cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert message in out and 'Traceback' not in out
    assert not os.path.exists(tmp_path / 'out')
