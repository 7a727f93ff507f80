# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Aggregate callback of bench/diagnose: wall time of every task (start to last host result), written as JSON.

Enabled by the benchmark with ANSIBLE_CALLBACKS_ENABLED=task_times and ANSIBLE_CALLBACK_PLUGINS=<this directory>;
NETDIAG_TASK_TIMES names the output file. Not part of the collection.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: task_times
type: aggregate
short_description: per-task wall time for bench/diagnose
description: [Writes the wall time of every task to the file named by NETDIAG_TASK_TIMES.]
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_times'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._t0 = time.monotonic()
        self._rows = []
        self._current = None

    def _close(self):
        if self._current is not None:
            name, start, end, status = self._current
            self._rows.append({'task': name, 'start': round(start - self._t0, 3),
                               'seconds': round((end or time.monotonic()) - start, 3), 'status': status})
            self._current = None

    def _start(self, task):
        self._close()
        self._current = [task.get_name(), time.monotonic(), None, 'started']

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _result(self, status):
        if self._current is not None:
            self._current[2] = time.monotonic()
            self._current[3] = status

    def v2_runner_on_ok(self, result):
        self._result('ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result('failed')

    def v2_runner_on_skipped(self, result):
        self._result('skipped')

    def v2_runner_on_unreachable(self, result):
        self._result('unreachable')

    def v2_playbook_on_stats(self, stats):
        self._close()
        path = os.environ.get('NETDIAG_TASK_TIMES')
        if path:
            with open(path, 'w', encoding='utf-8') as f:
                json.dump({'total': round(time.monotonic() - self._t0, 3), 'tasks': self._rows}, f, indent=1)
