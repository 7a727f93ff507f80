# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the diagnose role: hop list, verdict and report rendering (controller side).

Documentation of each filter is in the YAML file of the same name beside this one.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.cloudops.netdiag.plugins.plugin_utils import _dhcpfacts, _model_ml2ovs, _model_ovn, _report, _report_html, _verdict
from ansible_collections.cloudops.netdiag.plugins.plugin_utils._plain import plain as _plain


def netdiag_hops(instance, domains=None, bridges=None, nova_conf=None, routes=None, interfaces=None, compute_host=None,
                 guest_host=None, guest_interfaces=None, external_target=None, external_host=None):
    if not isinstance(instance, dict):
        raise AnsibleFilterError('netdiag_hops: the instance must be a dict (nova_network_info.instance), got %s' % type(instance).__name__)
    try:
        return _verdict.build_hops(_plain(instance), domains=_plain(domains), bridges=_plain(bridges), nova_conf=_plain(nova_conf),
                                   routes=_plain(routes), interfaces=_plain(interfaces), compute_host=compute_host,
                                   guest_host=guest_host, guest_interfaces=_plain(guest_interfaces),
                                   external_target=external_target, external_host=external_host)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise AnsibleFilterError('netdiag_hops: cannot build the hop list: %s' % to_native(e))


def netdiag_verdict(inputs):
    if not isinstance(inputs, dict):
        raise AnsibleFilterError('netdiag_verdict: the evidence must be a dict, got %s' % type(inputs).__name__)
    try:
        return _verdict.evaluate(_plain(inputs))
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise AnsibleFilterError('netdiag_verdict: cannot evaluate the evidence: %s' % to_native(e))


def netdiag_report(inputs, verdict, query=None, timings=None):
    if not isinstance(inputs, dict) or not isinstance(verdict, dict):
        raise AnsibleFilterError('netdiag_report: the evidence and the verdict must be dicts')
    try:
        inputs = _plain(inputs)
        hops = inputs.get('hops') or []
        return _report.build_report(inputs, hops, _plain(verdict), query=query, timings=_plain(timings or {}))
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise AnsibleFilterError('netdiag_report: cannot build the report: %s' % to_native(e))


def netdiag_report_markdown(report):
    if not isinstance(report, dict) or 'verdict' not in report:
        raise AnsibleFilterError('netdiag_report_markdown: expects the report built by netdiag_report')
    return _report.to_markdown(_plain(report))


def netdiag_report_html(report):
    if not isinstance(report, dict) or 'verdict' not in report:
        raise AnsibleFilterError('netdiag_report_html: expects the report built by netdiag_report')
    return _report_html.render(_plain(report))


def netdiag_dns_upstream(dnsmasq, bridge, nova_conf=None):
    """The first plain upstream server of the live dnsmasq of ``bridge`` ({server, port}), else nova.conf's dns_server."""
    if dnsmasq is not None and not isinstance(dnsmasq, (dict, list)):
        raise AnsibleFilterError('netdiag_dns_upstream: expects the dnsmasq facts of dnsmasq_info, got %s' % type(dnsmasq).__name__)
    ups = []
    for p in _dhcpfacts._live_dnsmasq(_plain(dnsmasq), bridge):  # pylint: disable=protected-access
        ups += _dhcpfacts._dnsmasq_upstreams(p)  # pylint: disable=protected-access
    conf = _plain(nova_conf) if isinstance(nova_conf, dict) else {}
    ups.append(conf.get('dns_server') or ((conf.get('other') or {}).get('DEFAULT') or {}).get('dns_server') or '')
    for u in ups:
        u = str(u or '').strip()
        if not u or u.startswith('/'):
            continue
        host, dummy, port = u.partition('#')
        try:
            return {'server': host, 'port': int(port or 53)}
        except ValueError:
            continue
    return {}


def netdiag_ovn_evidence(instance, compute_host, interfaces=None, ovs=None, nb=None, sb=None, neutron_ports=None, neutron_audit=None,
                         probes=None, symptom=None, guest_host=None, traces=None, network_host=None, network_interfaces=None,
                         network_ovs=None, metadata=None):
    """The evidence of an instance on ML2/OVN (backend ovn) from the facts modules' results."""
    if not isinstance(instance, dict):
        raise AnsibleFilterError('netdiag_ovn_evidence: the instance must be a dict (nova_network_info.instance), got %s'
                                 % type(instance).__name__)
    try:
        return _model_ovn.evidence(_plain(instance), compute_host, interfaces=_plain(interfaces), ovs=_plain(ovs), nb=_plain(nb),
                                   sb=_plain(sb), neutron_ports=_plain(neutron_ports), neutron_audit=_plain(neutron_audit),
                                   probes=_plain(probes), symptom=symptom, guest_host=guest_host or None, traces=_plain(traces),
                                   network_host=network_host or None, network_interfaces=_plain(network_interfaces),
                                   network_ovs=_plain(network_ovs), metadata=_plain(metadata))
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise AnsibleFilterError('netdiag_ovn_evidence: cannot assemble the evidence: %s' % to_native(e))


def netdiag_ml2ovs_evidence(instance, compute_host, interfaces=None, ovs=None, iptables=None, iptables_moved=None, network_host=None,
                            network_interfaces=None, network_ovs=None, router_iptables=None, dnsmasq=None, neutron_ports=None,
                            neutron_audit=None, probes=None, symptom=None, guest_host=None, router_sockets=None):
    """The evidence of an instance on ML2/OVS (backend ml2ovs) from the facts modules' results."""
    if not isinstance(instance, dict):
        raise AnsibleFilterError('netdiag_ml2ovs_evidence: the instance must be a dict (nova_network_info.instance), got %s'
                                 % type(instance).__name__)
    try:
        return _model_ml2ovs.evidence(
            _plain(instance), compute_host, interfaces=_plain(interfaces), ovs=_plain(ovs), iptables=_plain(iptables),
            iptables_moved=_plain(iptables_moved), network_host=network_host or None, network_interfaces=_plain(network_interfaces),
            network_ovs=_plain(network_ovs), router_iptables=_plain(router_iptables), dnsmasq=_plain(dnsmasq),
            router_sockets=_plain(router_sockets),
            neutron_ports=_plain(neutron_ports), neutron_audit=_plain(neutron_audit), probes=_plain(probes), symptom=symptom,
            guest_host=guest_host or None)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise AnsibleFilterError('netdiag_ml2ovs_evidence: cannot assemble the evidence: %s' % to_native(e))


def netdiag_phase_durations(marks):
    """{'start': t0, 'resolve': t1, 'facts': t2, ...} (in insertion order) -> seconds per phase and total."""
    if not isinstance(marks, dict):
        raise AnsibleFilterError('netdiag_phase_durations: expects a dict of phase end timestamps')
    out = {}
    prev = None
    first = None
    for k, v in marks.items():
        try:
            t = float(v)
        except (TypeError, ValueError):
            raise AnsibleFilterError('netdiag_phase_durations: %s is not a timestamp' % k)
        if prev is not None:
            out[str(k)] = round(max(0.0, t - prev), 3)
        else:
            first = t
        prev = t
    if first is not None and prev is not None:
        out['total'] = round(max(0.0, prev - first), 3)
    return out


class FilterModule(object):
    """Diagnose filters."""

    def filters(self):
        return {
            'netdiag_hops': netdiag_hops,
            'netdiag_verdict': netdiag_verdict,
            'netdiag_report': netdiag_report,
            'netdiag_report_markdown': netdiag_report_markdown,
            'netdiag_report_html': netdiag_report_html,
            'netdiag_phase_durations': netdiag_phase_durations,
            'netdiag_dns_upstream': netdiag_dns_upstream,
            'netdiag_ovn_evidence': netdiag_ovn_evidence,
            'netdiag_ml2ovs_evidence': netdiag_ml2ovs_evidence,
        }
