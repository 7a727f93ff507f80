# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection's modules through their real entry point, in a subprocess.

``run_module`` does what Ansible does on a target: it executes the module file with a JSON
arguments file (``{"ANSIBLE_MODULE_ARGS": {...}}``), so AnsibleModule parses the arguments,
check mode, no_log masking and fail_json/exit_json exactly as in a play. ``run_adhoc`` goes one
step further through ``ansible localhost -m``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
COLLECTIONS = os.path.join(REPO, '.venv', 'collections')
VENV_BIN = os.path.join(REPO, '.venv', 'bin')


class Result(object):
    def __init__(self, rc, stdout, stderr):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.output = stdout + stderr
        try:
            self.json = json.loads(stdout[stdout.index('{'):]) if '{' in stdout else {}
        except ValueError:
            self.json = {}

    @property
    def failed(self):
        return self.rc != 0 or bool(self.json.get('failed'))

    def __getitem__(self, key):
        return self.json[key]

    def get(self, key, default=None):
        return self.json.get(key, default)

    def __repr__(self):
        return 'Result(rc=%r, json=%r, stderr=%r)' % (self.rc, self.json, self.stderr[-2000:])


def module_path(name):
    return os.path.join(REPO, 'plugins', 'modules', name + '.py')


def _env():
    env = dict(os.environ)
    env['PYTHONPATH'] = COLLECTIONS + os.pathsep + env.get('PYTHONPATH', '')
    env['HOME'] = env.get('HOME', '/root')
    return env


def module_argv(name, args, check=False, diff=False, raw_args=None):
    """argv (and the args file, to delete) running module ``name`` as Ansible would."""
    payload = dict(args)
    payload['_ansible_check_mode'] = check
    payload['_ansible_diff'] = diff
    fd, path = tempfile.mkstemp(prefix='netdiag-args-', suffix='.json')
    with os.fdopen(fd, 'wb') as f:
        if raw_args is not None:  # exact bytes, for non-UTF-8 input
            f.write(raw_args)
        else:
            f.write(json.dumps({'ANSIBLE_MODULE_ARGS': payload}).encode('utf-8'))
    return [sys.executable, module_path(name), path], path


def run_module(name, args, check=False, diff=False, raw_args=None, timeout=120):
    argv, path = module_argv(name, args, check, diff, raw_args)
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), timeout=timeout, check=False)
    finally:
        os.unlink(path)
    return Result(proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace'))


def start_module(name, args, check=False):
    """Start a module run in the background; returns (Popen, args file path)."""
    argv, path = module_argv(name, args, check)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    return proc, path


def finish_module(proc, path, timeout=120):
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        os.unlink(path)
    return Result(proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'))


def run_adhoc(module, args, extra=(), log_path=None, timeout=180, raw_a=None):
    """``ansible localhost -m cloudops.netdiag.<module> -a <json args>`` with the repo's ansible.cfg.

    ``raw_a`` passes the exact bytes of ``-a`` (key=value form), for non-UTF-8 input.
    """
    env = _env()
    env['ANSIBLE_CONFIG'] = os.path.join(REPO, 'ansible.cfg')
    env['ANSIBLE_FORCE_COLOR'] = '0'
    env['ANSIBLE_NOCOLOR'] = '1'
    env.setdefault('LC_ALL', 'C.UTF-8')
    env['ANSIBLE_CALLBACK_RESULT_FORMAT'] = 'json'
    if log_path:
        env['ANSIBLE_LOG_PATH'] = log_path
    argv = [os.path.join(VENV_BIN, 'ansible'), 'localhost', '-m', 'cloudops.netdiag.' + module,
            '-a', raw_a if raw_a is not None else json.dumps(args),
            '-e', 'ansible_python_interpreter=' + sys.executable] + list(extra)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=timeout, cwd=REPO, check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    res = Result(proc.returncode, out, proc.stderr.decode('utf-8', 'replace'))
    # the minimal callback prints "localhost | FAILED! => {...}" (a diff may come first in --diff)
    marker = out.find('localhost | ')
    if marker >= 0 and '{' in out[marker:]:
        try:
            res.json = json.loads(out[out.index('{', marker):])
        except ValueError:
            pass
    return res
