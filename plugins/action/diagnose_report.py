# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of cloudops.netdiag.diagnose_report: verdict and report files, on the controller."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _report, _verdict
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._plain import plain as _plain
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._reportfiles import FORMATS, base_name, render, save


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec = {
        'evidence': {'type': 'dict', 'required': True},
        'query': {'type': 'str'},
        'timings': {'type': 'dict', 'default': {}},
        'dest_dir': {'type': 'path'},
        'basename': {'type': 'str'},
        'formats': {'type': 'list', 'elements': 'str', 'default': list(FORMATS), 'choices': list(FORMATS)},
    }

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=self.argument_spec)
        evidence = _plain(args['evidence'])
        if not isinstance(evidence.get('instance'), dict):
            raise AnsibleActionFail('diagnose_report: evidence.instance must be the instance found by nova_network_info')
        timings = {}
        for k, v in (args['timings'] or {}).items():
            try:
                timings[str(k)] = float(v)
            except (TypeError, ValueError):
                raise AnsibleActionFail('diagnose_report: timing %s is not a number of seconds' % k)
        try:
            verdict = _verdict.evaluate(evidence)
            report = _report.build_report(evidence, evidence.get('hops') or [], verdict, query=args['query'], timings=timings)
            rendered = {fmt: render(report, fmt) for fmt in args['formats']}
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise AnsibleActionFail('diagnose_report: cannot evaluate the evidence: %s' % to_native(e))
        result.update(changed=False, verdict=report['verdict'], report=report, files={})
        if not args['dest_dir']:
            return result
        base = base_name(args['basename'] or args['query'] or report['instance'].get('hostname') or report['instance'].get('uuid')
                         or 'instance')
        try:
            result['files'], result['changed'] = save(args['dest_dir'], base, rendered, self._task.check_mode)
        except OSError as e:
            raise AnsibleActionFail('diagnose_report: cannot write the report to %s: %s' % (args['dest_dir'], to_native(e)))
        return result
