# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_info's sections: validated by each module's own spec, failing alone, run at the same time."""

from __future__ import annotations

import os

from ansible_collections.cloudops.netdiag.plugins.module_utils import _hostinfo as hi

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


class _Module(object):
    """What a gatherer may ask of the real module; records the calls."""

    def __init__(self):
        self.commands = []

    def run_command(self, argv, **kwargs):
        self.commands.append(argv)
        return 1, '', 'not here'

    @staticmethod
    def get_bin_path(name, required=False, opt_dirs=None):
        return None


def test_validate_applies_the_modules_defaults_and_the_namespace():
    params, error = hi.validate('iptables_info', {'table': ['nat']}, netns='lab-compute1')
    assert error is None
    assert params['backend'] == 'auto' and params['table'] == ['nat'] and params['netns'] == 'lab-compute1'
    params, error = hi.validate('interface_info', {}, netns='lab-compute1')
    assert params['netns'] == ['lab-compute1']
    # a section's own namespace wins; a section without one is left alone
    params, error = hi.validate('iptables_info', {'netns': 'other'}, netns='lab-compute1')
    assert params['netns'] == 'other'
    params, error = hi.validate('nova_conf_info', {}, netns='lab-compute1')
    assert error is None and 'netns' not in params and params['path'] == '/etc/nova/nova.conf'


def test_validate_names_the_section_and_the_option():
    params, error = hi.validate('iptables_info', {'backend': 'bogus'})
    assert params is None and error.startswith('iptables_info: ') and 'backend' in error and 'bogus' in error
    params, error = hi.validate('console_log_info', {'path': '/x', 'instance_uuid': 'y'})
    assert params is None and 'mutually exclusive' in error
    params, error = hi.validate('nova_conf_info', {'path': '/etc/nova\x00.conf'})
    assert params is None and error == "nova_conf_info: parameter path: the path '/etc/nova\\x00.conf' contains a NUL character"


def test_sections_fail_alone_and_the_others_are_returned():
    conf = os.path.join(FIX, 'novaconf')
    sample = next(os.path.join(conf, f) for f in sorted(os.listdir(conf)) if f.endswith('.conf'))
    module = _Module()
    facts, seconds = hi.gather_sections(module, {
        'nova_conf_info': {'path': sample},
        'iptables_info': {},                      # iptables-save is not found by this stand-in: that section fails
        'console_log_info': {'path': '/nonexistent/console.log'},
        'ebtables_info': {'backend': 'nope'},     # refused by the spec, never run
    })
    assert sorted(facts) == ['console_log_info', 'ebtables_info', 'iptables_info', 'nova_conf_info']
    assert facts['nova_conf_info'].get('failed') is None and facts['nova_conf_info']['nova_conf']['path'] == sample
    assert facts['iptables_info'] == {'failed': True, 'msg': 'cannot read iptables: iptables-save was not found on the target host'}
    assert facts['console_log_info']['failed'] and '/nonexistent/console.log' in facts['console_log_info']['msg']
    assert facts['ebtables_info']['failed'] and facts['ebtables_info']['msg'].startswith('ebtables_info: ')
    assert seconds['ebtables_info'] == 0.0 and set(seconds) == set(facts)


def test_a_section_that_breaks_is_named_not_a_traceback(monkeypatch):
    from ansible_collections.cloudops.netdiag.plugins.module_utils import _gather

    def broken(module, params):
        raise KeyError('oops')

    monkeypatch.setitem(_gather.GATHER, 'nova_conf_info', broken)
    facts, dummy = hi.gather_sections(_Module(), {'nova_conf_info': {}})
    assert facts['nova_conf_info'] == {'failed': True, 'msg': "nova_conf_info: unexpected KeyError: 'oops'"}
