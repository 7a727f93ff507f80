# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of _novadb: input validation, error messages, audit, plan, backup, connection options.

The SQL side runs against a real MariaDB in tests/integration/db/.
"""

from __future__ import annotations

import json
import os
import stat

import pymysql
import pytest

from ansible_collections.cloudops.netdiag.plugins.module_utils import _novadb as novadb
from ansible_collections.cloudops.netdiag.plugins.module_utils._novadb import NovaDBError


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize('value', ['web01', "x' OR '1'='1", '%', '_', 'Database Server', 'café'])
def test_validate_name_accepts_plain_text_even_with_sql_metacharacters(value):
    # metacharacters are harmless (parameters, '=' not LIKE): they are accepted and matched literally
    assert novadb.validate_name(value) == value


@pytest.mark.parametrize('value,words', [
    ('a' * 256, 'longer than 255'),
    ('', 'must not be empty'),
    ('   ', 'must not be empty'),
    ('web\udcff01', 'not valid UTF-8'),
    ('web\ufffd01', 'not valid UTF-8'),
    ('web01\x00', 'control characters'),
    ('web01\n', 'control characters'),
    ('\U0001F4A3', 'Basic Multilingual Plane'),
    (12, 'must be a string'),
])
def test_validate_name_refuses(value, words):
    with pytest.raises(NovaDBError) as err:
        novadb.validate_name(value)
    assert words in str(err.value) and err.value.code == 'bad_input'
    assert len(str(err.value)) < 200  # a long value is shown truncated


def test_validate_address():
    assert novadb.validate_address('203.0.113.30') == '203.0.113.30'
    assert novadb.validate_address(' 203.0.113.30 ') == '203.0.113.30'
    assert novadb.validate_address('2001:DB8::1') == '2001:db8::1'
    for bad in ("203.0.113.30' OR '1'='1", '%', '203.0.113.%', '', '1' * 100, None):
        with pytest.raises(NovaDBError) as err:
            novadb.validate_address(bad)
        assert 'is not an IP address' in str(err.value)


def test_validate_id():
    assert novadb.validate_id('12') == 12
    for bad in ('1 OR 1=1', 0, -1, 2 ** 31, True, None):
        with pytest.raises(NovaDBError):
            novadb.validate_id(bad)


def test_looks_like_uuid():
    assert novadb.looks_like_uuid('5f1c2a64-2b7c-4f55-9a80-b0c1a9a0e7b1')
    assert novadb.looks_like_uuid('5F1C2A64-2B7C-4F55-9A80-B0C1A9A0E7B1')
    assert not novadb.looks_like_uuid('5f1c2a642b7c4f559a80b0c1a9a0e7b1')  # hostnames may look like that
    assert not novadb.looks_like_uuid('web01')


# ------------------------------------------------------------------ error messages

PARAMS = {'login_host': 'db.example.com', 'login_port': 3306, 'login_user': 'nova', 'login_password': 'S3cret!pw',
          'login_db': 'nova'}


@pytest.mark.parametrize('exc,code,words', [
    (pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'db.example.com' ([Errno 111] Connection refused)"),
     'db_unreachable', 'cannot connect to the nova database at db.example.com:3306: the server is down or unreachable'),
    (pymysql.err.OperationalError(1045, "Access denied for user 'nova'@'10.0.0.1' (using password: YES)"),
     'db_access_denied', 'access denied for user nova at db.example.com:3306: wrong user name or password'),
    (pymysql.err.ProgrammingError(1146, "Table 'nova.floating_ips' doesn't exist"),
     'table_missing', "Table 'nova.floating_ips' doesn't exist"),
    (pymysql.err.OperationalError(1142, "UPDATE command denied to user 'nova_ro'@'localhost' for table `nova`.`floating_ips`"),
     'db_permission_denied', 'read-only account'),
    (pymysql.err.OperationalError(1205, 'Lock wait timeout exceeded; try restarting transaction'),
     'lock_timeout', 'lock wait timed out'),
    (pymysql.err.OperationalError(2013, 'Lost connection to MySQL server during query'),
     'connection_lost', 'was lost'),
    (pymysql.err.OperationalError(1049, "Unknown database 'nova'"), 'db_missing', 'database nova does not exist'),
    (pymysql.err.OperationalError(2003, "Can't connect to MySQL server on 'db.example.com' ([SSL: CERTIFICATE_VERIFY_FAILED]"
                                        " certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006))"),
     'db_tls_error', 'the TLS connection to the nova database at db.example.com:3306 failed'),
])
def test_explain_error(exc, code, words):
    err = novadb.explain_error(exc, PARAMS, table='floating_ips')
    assert err.code == code and words in str(err)
    assert 'S3cret!pw' not in str(err)


def test_explain_error_masks_a_password_the_server_echoes():
    err = novadb.explain_error(pymysql.err.InternalError(9999, 'weird: S3cret!pw'), PARAMS)
    assert 'S3cret!pw' not in str(err) and '********' in str(err)


def test_connection_over_socket_is_named_as_such():
    err = novadb.explain_error(pymysql.err.OperationalError(2003, 'x'), dict(PARAMS, login_unix_socket='/run/mysqld/mysqld.sock'))
    assert 'at socket /run/mysqld/mysqld.sock' in str(err)


# ------------------------------------------------------------------ connection options

def test_connection_kwargs_tcp_socket_tls(tmp_path):
    kw = novadb.connection_kwargs(dict(PARAMS, config_file=None, connect_timeout=7))
    assert (kw['host'], kw['port'], kw['user'], kw['password'], kw['database'], kw['connect_timeout']) == \
        ('db.example.com', 3306, 'nova', 'S3cret!pw', 'nova', 7)
    assert 'unix_socket' not in kw and 'read_default_file' not in kw
    # every wait for the server's answer: connect_timeout + the module's lock wait + the margin, as connect() arguments
    assert (kw['read_timeout'], kw['write_timeout']) == (7 + novadb.ANSWER_MARGIN,) * 2
    kw = novadb.connection_kwargs(dict(PARAMS, config_file=None, connect_timeout=7, lock_timeout=20))
    assert (kw['read_timeout'], kw['write_timeout']) == (27 + novadb.ANSWER_MARGIN,) * 2
    kw = novadb.connection_kwargs(dict(PARAMS, login_unix_socket='/s.sock'))
    assert kw['unix_socket'] == '/s.sock' and 'host' not in kw
    ca, cert, key = (tmp_path / 'ca.pem', tmp_path / 'client.pem', tmp_path / 'client.key')
    for f in (ca, cert, key):
        f.write_text('x')
    kw = novadb.connection_kwargs(dict(PARAMS, ca_cert=str(ca), check_hostname=True))
    assert kw['ssl_ca'] == str(ca) and kw['ssl_verify_identity'] is True and kw['ssl_verify_cert'] is True
    # ca_cert alone verifies the certificate and the name (as community.mysql with PyMySQL), check_hostname=false only the certificate
    kw = novadb.connection_kwargs(dict(PARAMS, ca_cert=str(ca)))
    assert (kw['ssl_verify_cert'], kw['ssl_verify_identity']) == (True, True)
    kw = novadb.connection_kwargs(dict(PARAMS, ca_cert=str(ca), check_hostname=False))
    assert (kw['ssl_verify_cert'], kw['ssl_verify_identity']) == (True, False)
    kw = novadb.connection_kwargs(dict(PARAMS, client_cert=str(cert), client_key=str(key)))
    assert (kw['ssl_cert'], kw['ssl_key']) == (str(cert), str(key)) and 'ssl_verify_cert' not in kw
    with pytest.raises(NovaDBError) as err:
        novadb.connection_kwargs(dict(PARAMS, ca_cert=str(tmp_path / 'none.pem')))
    assert str(err.value) == 'ca_cert %s does not exist' % (tmp_path / 'none.pem') and err.value.code == 'bad_config'


def test_connection_kwargs_config_file(tmp_path):
    cnf = tmp_path / 'my.cnf'
    cnf.write_text('[client]\nuser=nova\npassword=x\n')
    kw = novadb.connection_kwargs({'config_file': str(cnf), 'login_port': 3306})
    assert kw['read_default_file'] == str(cnf) and 'user' not in kw and 'password' not in kw
    with pytest.raises(NovaDBError) as err:
        novadb.connection_kwargs({'config_file': str(tmp_path / 'missing.cnf')})
    assert 'does not exist' in str(err.value)
    # the default ~/.my.cnf is optional, as in community.mysql
    home = os.environ.get('HOME')
    os.environ['HOME'] = str(tmp_path / 'home')
    try:
        assert 'read_default_file' not in novadb.connection_kwargs({'config_file': os.path.expanduser('~/.my.cnf')})
    finally:
        os.environ['HOME'] = home


def test_connect_to_nothing_is_a_clear_error(tmp_path):
    with pytest.raises(NovaDBError) as err:
        novadb.connect({'login_unix_socket': str(tmp_path / 'no.sock'), 'login_user': 'nova', 'login_password': 'S3cret!pw',
                        'connect_timeout': 2})
    assert err.value.code == 'db_unreachable' and 'S3cret!pw' not in str(err.value)


# ------------------------------------------------------------------ audit (pure)

def _inst(id_, uuid, hostname, deleted=False, host='compute1', project='p1'):
    return {'id': id_, 'uuid': uuid, 'hostname': hostname, 'display_name': hostname, 'host': host, 'node': host,
            'project_id': project, 'vm_state': 'deleted' if deleted else 'active', 'task_state': None, 'power_state': 1,
            'launched_at': None, 'terminated_at': '2026-01-01T00:00:00' if deleted else None,
            'deleted': id_ if deleted else 0, 'deleted_at': None}


def _fixed(id_, address, uuid, allocated=1, vif=None, deleted=0, net=1):
    return {'id': id_, 'address': address, 'network_id': net, 'allocated': allocated, 'leased': allocated, 'reserved': 0,
            'virtual_interface_id': vif, 'host': 'compute1', 'instance_uuid': uuid, 'deleted': deleted, 'deleted_at': None,
            'updated_at': None}


def _float(id_, address, fixed_id, host='compute1', project='p1', deleted=0):
    return {'id': id_, 'address': address, 'fixed_ip_id': fixed_id, 'project_id': project, 'host': host, 'auto_assigned': 0,
            'pool': 'public', 'interface': 'eth0', 'deleted': deleted, 'deleted_at': None, 'updated_at': None}


def chapter_data():
    return {
        'instances': [_inst(1, 'u-web', 'web01'), _inst(2, 'u-old', 'old-vm', deleted=True)],
        'fixed_ips': [_fixed(1, '10.0.2.23', 'u-web', vif=1), _fixed(2, '10.0.2.24', 'u-old', allocated=0, vif=2)],
        'floating_ips': [_float(1, '203.0.113.31', 1), _float(2, '203.0.113.30', 2), _float(3, '203.0.113.30', None, deleted=3)],
        'networks': [{'id': 1, 'label': 'private', 'cidr': '10.0.2.0/24', 'bridge': 'br100', 'bridge_interface': 'eth1', 'vlan': None,
                      'gateway': '10.0.2.1', 'multi_host': 1, 'host': None, 'dhcp_server': None, 'project_id': None, 'deleted': 0}],
        'virtual_interfaces': [{'id': 1, 'address': 'fa:16:3e:00:00:01', 'uuid': 'v1', 'network_id': 1, 'instance_uuid': 'u-web', 'deleted': 0},
                               {'id': 2, 'address': 'fa:16:3e:00:00:02', 'uuid': 'v2', 'network_id': 1, 'instance_uuid': 'u-old', 'deleted': 2}],
    }


def test_audit_chapter_case():
    result = novadb.audit(chapter_data())
    assert [(f['code'], f['object']) for f in result['findings']] == [('floating_ip_on_deleted_instance', '203.0.113.30')]
    f = result['findings'][0]
    assert f['repair'] == {'address': '203.0.113.30'} and f['rows']['floating_ips'][0]['id'] == 2
    assert result['summary']['errors'] == 1 and result['summary']['by_code'] == {'floating_ip_on_deleted_instance': 1}


def test_audit_after_repair_is_clean():
    data = chapter_data()
    data['floating_ips'][1].update(fixed_ip_id=None, host=None)
    assert novadb.audit(data)['findings'] == []


def test_audit_fixed_ip_still_allocated_and_missing_instance():
    data = chapter_data()
    data['fixed_ips'][1]['allocated'] = 1
    data['fixed_ips'].append(_fixed(3, '10.0.2.50', 'u-nowhere'))
    codes = sorted((f['code'], f['object']) for f in novadb.audit(data)['findings'])
    assert codes == [('fixed_ip_allocated_to_deleted_instance', '10.0.2.24'), ('fixed_ip_allocated_to_deleted_instance', '10.0.2.50'),
                     ('floating_ip_on_deleted_instance', '203.0.113.30')]


def test_audit_duplicates_and_mismatches():
    data = chapter_data()
    data['floating_ips'].append(dict(_float(4, '203.0.113.31', None), deleted=0))  # duplicate live address
    data['floating_ips'].append(_float(5, '203.0.113.32', 1, host='compute9', project='p2'))
    codes = sorted((f['code'], f['object']) for f in novadb.audit(data)['findings'])
    assert ('duplicate_floating_ip', '203.0.113.31') in codes
    assert ('floating_ip_host_mismatch', '203.0.113.32') in codes
    assert ('floating_ip_project_mismatch', '203.0.113.32') in codes
    assert ('fixed_ip_multiple_floating', '10.0.2.23') in codes


def test_soft_deleted_rows_are_not_live():
    assert novadb.is_live({'deleted': 0}) and not novadb.is_live({'deleted': 7}) and not novadb.is_live({'deleted': None})
    assert novadb.instance_is_gone(_inst(2, 'u', 'x', deleted=True))
    assert novadb.instance_is_gone(dict(_inst(2, 'u', 'x'), terminated_at='2026-01-01T00:00:00'))
    assert not novadb.instance_is_gone(_inst(1, 'u', 'x'))
    assert novadb.instance_is_gone(None)


# ------------------------------------------------------------------ plan (pure)

def test_make_plan_disassociate_release_refuse():
    data = chapter_data()
    rows = data['floating_ips'][:2]
    owners = {1: (data['fixed_ips'][0], data['instances'][0]), 2: (data['fixed_ips'][1], data['instances'][1])}
    plan = novadb.make_plan(rows, owners, release=False, force=False, context={'address': 'x'})
    assert [c['address'] for c in plan['changes']] == ['203.0.113.30']
    assert [r['address'] for r in plan['refused']] == ['203.0.113.31'] and 'force=true' in plan['refused'][0]['reason']
    change = plan['changes'][0]
    assert (change['after']['fixed_ip_id'], change['after']['host'], change['after']['project_id']) == (None, None, 'p1')
    assert plan['columns'] == ['fixed_ip_id', 'host']
    plan = novadb.make_plan(rows, owners, release=True, force=True)
    assert [c['address'] for c in plan['changes']] == ['203.0.113.31', '203.0.113.30'] and plan['refused'] == []
    assert plan['changes'][0]['after']['project_id'] is None and plan['columns'] == ['fixed_ip_id', 'host', 'project_id', 'auto_assigned']
    diff = novadb.plan_diff(plan)
    assert diff['before']['floating_ips'][1]['fixed_ip_id'] == 2 and diff['after']['floating_ips'][1]['fixed_ip_id'] is None


def test_make_plan_idempotent():
    row = _float(2, '203.0.113.30', None, host=None)
    plan = novadb.make_plan([row], {2: (None, None)}, release=False)
    assert plan['changes'] == [] and [u['id'] for u in plan['unchanged']] == [2]
    plan = novadb.make_plan([row], {2: (None, None)}, release=True)  # still in project p1: release changes it
    assert [c['id'] for c in plan['changes']] == [2]


def test_write_backup_mode_and_content(tmp_path):
    data = chapter_data()
    plan = novadb.make_plan([data['floating_ips'][1]], {2: (data['fixed_ips'][1], data['instances'][1])},
                            context={'address': '203.0.113.30'})
    path = novadb.write_backup(str(tmp_path / 'new' / 'dir'), plan, PARAMS)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path) as f:
        doc = json.load(f)
    assert doc['rows_before'][0]['fixed_ip_id'] == 2
    assert doc['restore'][0] == {'table': 'floating_ips', 'id': 2, 'set': {'fixed_ip_id': 2, 'host': 'compute1'}}
    assert 'S3cret!pw' not in open(path).read()


def test_write_backup_unwritable_is_a_clear_error(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    plan = {'changes': [], 'columns': [], 'selection': {}, 'release': False}
    with pytest.raises(NovaDBError) as err:
        novadb.write_backup(str(blocker / 'sub'), plan)
    assert err.value.code == 'backup_failed' and 'nothing was changed' in str(err.value)
