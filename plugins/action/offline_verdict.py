# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of cloudops.netdiag.offline_verdict: a verdict from sosreports and bundles, on the controller."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _engine, _offline, _report
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._reportfiles import FORMATS, base_name, render, save


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    argument_spec = {
        'source': {'type': 'path', 'required': True},
        'instance': {'type': 'str', 'required': True},
        'symptom': {'type': 'str', 'default': 'none', 'choices': ['none', 'unreachable']},
        'dest_dir': {'type': 'path'},
        'formats': {'type': 'list', 'elements': 'str', 'default': list(FORMATS), 'choices': list(FORMATS)},
    }

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec=self.argument_spec)
        work = _offline.workdir()
        try:
            try:
                hosts, unreadable = _offline.load(args['source'], work)
                evidence = _offline.evidence(hosts, args['instance'], symptom=None if args['symptom'] == 'none' else args['symptom'])
            except _offline.OfflineError as e:
                raise AnsibleActionFail('offline_verdict: %s' % to_native(e))
            try:
                verdict = _engine.evaluate(evidence)
                report = _report.build_report(evidence, evidence['hops'], verdict, query=args['instance'])
                read = _offline.host_summary(hosts)
                report['offline'] = {'source': args['source'], 'hosts': read, 'unreadable': unreadable}
                rendered = {fmt: render(report, fmt) for fmt in args['formats']}
            except (TypeError, ValueError, KeyError, AttributeError) as e:
                raise AnsibleActionFail('offline_verdict: cannot evaluate what %s holds: %s' % (args['source'], to_native(e)))
        finally:
            _offline.cleanup(work)
        result.update(changed=False, verdict=report['verdict'], report=report, hosts=read,
                      unreadable=unreadable, files={})
        if not args['dest_dir']:
            return result
        try:
            result['files'], result['changed'] = save(args['dest_dir'], base_name(args['instance']), rendered, self._task.check_mode)
        except OSError as e:
            raise AnsibleActionFail('offline_verdict: cannot write the report to %s: %s' % (args['dest_dir'], to_native(e)))
        return result
