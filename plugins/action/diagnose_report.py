# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of cloudops.netdiag.diagnose_report: verdict and report files, on the controller."""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _report, _report_html, _verdict
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._plain import plain as _plain

FORMATS = ('json', 'md', 'html')


def _render(report, fmt):
    if fmt == 'json':
        return json.dumps(report, indent=2, sort_keys=True) + '\n'
    if fmt == 'md':
        return _report.to_markdown(report)
    return _report_html.render(report)


def _write(path, content, mode=0o644):
    """Write ``content`` atomically; return True when the file changed."""
    data = content.encode('utf-8')
    try:
        with open(path, 'rb') as f:
            if f.read() == data:
                return False
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


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
            rendered = {fmt: _render(report, fmt) for fmt in args['formats']}
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            raise AnsibleActionFail('diagnose_report: cannot evaluate the evidence: %s' % to_native(e))
        result.update(changed=False, verdict=report['verdict'], report=report, files={})
        if not args['dest_dir']:
            return result
        base = args['basename'] or args['query'] or report['instance'].get('hostname') or report['instance'].get('uuid') or 'instance'
        base = re.sub(r'[^A-Za-z0-9_.-]', '_', str(base)).lstrip('.') or 'instance'
        dest = args['dest_dir']
        paths = {fmt: os.path.join(dest, '%s.%s' % (base, fmt)) for fmt in args['formats']}
        result['files'] = paths
        if self._task.check_mode:
            changed = False
            for fmt, path in paths.items():
                try:
                    with open(path, 'rb') as f:
                        changed = changed or f.read() != rendered[fmt].encode('utf-8')
                except OSError:
                    changed = True
            result['changed'] = changed
            return result
        try:
            os.makedirs(dest, mode=0o755, exist_ok=True)
            for fmt, path in paths.items():
                result['changed'] = _write(path, rendered[fmt]) or result['changed']
        except OSError as e:
            raise AnsibleActionFail('diagnose_report: cannot write the report to %s: %s' % (dest, to_native(e)))
        return result
