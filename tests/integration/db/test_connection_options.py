# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The community.mysql-style connection options, each used for real against a private MariaDB.

TCP (login_host/login_port), the login_db default, config_file (my.cnf form), connect_timeout
against a listener that never answers, and TLS: a second private mariadbd started with a test CA's
server certificate (name ``localhost`` only) and an account that REQUIRES X509, so ca_cert,
client_cert, client_key and check_hostname each decide whether the connection is made.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lab.mariadb import MariaDB
from moduleexec import run_module
from novarows import DDL, NovaRows, build_chapter_scenario, row_locked

pytestmark = pytest.mark.lab

INFO = 'nova_network_info'
TLS_PASSWORD = 'tls-Secr3t-pw-4-tests'


def audit_ok(r):
    assert not r.failed and 'Traceback' not in r.output, r
    return [f['object'] for f in r['audit']['findings']]


def failure(r, *secrets):
    assert r.failed and 'Traceback' not in r.output, r
    for s in secrets:
        assert s not in r.output
    return r['msg']


# ---------------------------------------------------------------------------------------------
# TCP, login_db default, config_file, connect_timeout (the session's server)
# ---------------------------------------------------------------------------------------------

def test_tcp_host_port_and_login_db_default(chapter_scenario, nova_db):
    p = nova_db.params('nova_ro')
    tcp = dict((k, v) for k, v in p.items() if k not in ('login_unix_socket', 'login_db'))
    assert tcp['login_host'] == '127.0.0.1' and isinstance(tcp['login_port'], int)
    # over TCP, without login_db: the default database is nova
    assert audit_ok(run_module(INFO, dict(tcp, config_file='', audit=True))) == ['203.0.113.30']
    # the port is really used: a port where nothing listens is a clear "cannot connect"
    msg = failure(run_module(INFO, dict(tcp, login_port=free_port(), config_file='', connect_timeout=5, audit=True)), p['login_password'])
    assert msg.startswith('cannot connect to the nova database at 127.0.0.1:'), msg
    # and login_db is really used
    msg = failure(run_module(INFO, dict(tcp, login_db='nova_nope', config_file='', audit=True)), p['login_password'])
    assert 'nova_nope' in msg, msg


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_config_file_supplies_user_password_socket(chapter_scenario, nova_db, tmp_path):
    p = nova_db.params('nova_ro')
    cnf = tmp_path / 'my.cnf'
    cnf.write_text('[client]\nuser = nova_ro\npassword = "%s"\nsocket = %s\n' % (p['login_password'], p['login_unix_socket']))
    cnf.chmod(0o600)
    assert audit_ok(run_module(INFO, {'config_file': str(cnf), 'audit': True})) == ['203.0.113.30']
    # options given explicitly win over the file
    msg = failure(run_module(INFO, {'config_file': str(cnf), 'login_password': 'Explicit-Wrong-pw', 'audit': True}),
                  'Explicit-Wrong-pw', p['login_password'])
    assert msg.startswith('access denied for user ') and 'wrong user name or password' in msg, msg
    msg = failure(run_module(INFO, {'config_file': str(cnf), 'login_user': 'nova_nobody', 'audit': True}), p['login_password'])
    assert msg.startswith('access denied for user nova_nobody'), msg
    # a config_file that is not there is named (the default ~/.my.cnf alone may be missing)
    msg = failure(run_module(INFO, {'config_file': str(tmp_path / 'none.cnf'), 'audit': True}))
    assert msg == 'config_file %s does not exist' % (tmp_path / 'none.cnf'), msg


def test_connect_timeout_bounds_a_server_that_never_answers(tmp_path):
    """A TCP listener that never sends the MySQL greeting: connect_timeout ends the wait with one message."""
    with socket.socket() as lsn:
        lsn.bind(('127.0.0.1', 0))
        lsn.listen(4)  # the kernel completes the handshake; nobody ever accepts or writes
        port = lsn.getsockname()[1]
        r = run_module(INFO, {'login_host': '127.0.0.1', 'login_port': port, 'login_user': 'nova', 'login_password': 'Pw-timeout-1',
                              'config_file': '', 'connect_timeout': 2, 'audit': True}, timeout=60)
    msg = failure(r, 'Pw-timeout-1')
    assert msg.startswith('cannot connect to the nova database at 127.0.0.1:%d' % port) and 'timed out' in msg, msg


# ---------------------------------------------------------------------------------------------
# TLS: ca_cert, client_cert, client_key, check_hostname
# ---------------------------------------------------------------------------------------------

def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject_cn, key, issuer_cn, issuer_key, ca=False, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)]))
         .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _write(path, cert=None, key=None):
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    return str(path)


@pytest.fixture(scope='module')
def tls_server(tmp_path_factory):
    """A private mariadbd with a TLS certificate for the name localhost (not for 127.0.0.1), signed by a test CA."""
    if os.geteuid() != 0:
        pytest.skip('the private MariaDB runs with --user=root and needs root')
    d = tmp_path_factory.mktemp('tls')
    ca_key, other_key, srv_key, cli_key = _key(), _key(), _key(), _key()
    ca = _cert('netdiag test CA', ca_key, 'netdiag test CA', ca_key, ca=True)
    files = {
        'ca': _write(d / 'ca.pem', ca),
        'other_ca': _write(d / 'other-ca.pem', _cert('another CA', other_key, 'another CA', other_key, ca=True)),
        'server_cert': _write(d / 'server.pem', _cert('localhost', srv_key, 'netdiag test CA', ca_key, san=[x509.DNSName('localhost')])),
        'server_key': _write(d / 'server.key', key=srv_key),
        'client_cert': _write(d / 'client.pem', _cert('nova client', cli_key, 'netdiag test CA', ca_key)),
        'client_key': _write(d / 'client.key', key=cli_key),
    }
    # the lab's MariaDB helper with three more server options, through a wrapper around mariadbd
    mariadbd = shutil.which('mariadbd') or shutil.which('mariadbd', path='/usr/sbin:/sbin:/usr/bin:/bin')
    if not mariadbd:
        pytest.fail('mariadbd not found (Debian package mariadb-server-core)')
    wrapper = d / 'mariadbd-tls'
    wrapper.write_text('#!/bin/sh\nexec %s "$@" --ssl-ca=%s --ssl-cert=%s --ssl-key=%s\n'
                       % (mariadbd, files['ca'], files['server_cert'], files['server_key']))
    wrapper.chmod(0o755)
    server = MariaDB(str(d / 'server'), mariadbd=str(wrapper))
    try:
        server.start()
        server.create_database('nova', DDL)
        params = server.create_user('nova_tls', TLS_PASSWORD, grants=['SELECT ON nova.*'])
        conn = server.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW VARIABLES LIKE 'have_ssl'")
                assert cur.fetchone()[1] == 'YES'
                for host in ('localhost', '127.0.0.1'):
                    cur.execute('ALTER USER %s@%s REQUIRE X509', ('nova_tls', host))
        finally:
            conn.close()
        rows = NovaRows(server)
        try:
            build_chapter_scenario(rows)
        finally:
            rows.close()
        tcp = dict((k, v) for k, v in params.items() if k != 'login_unix_socket')
        yield {'files': files, 'params': dict(tcp, config_file='', connect_timeout=10, audit=True)}
    finally:
        server.destroy()


def test_tls_client_certificate_and_ca(tls_server):
    f, p = tls_server['files'], tls_server['params']
    full = dict(p, ca_cert=f['ca'], client_cert=f['client_cert'], client_key=f['client_key'])
    # certificate verified against ca_cert, name not checked: the REQUIRE X509 account gets in
    assert audit_ok(run_module(INFO, dict(full, check_hostname=False))) == ['203.0.113.30']
    # the same through the community.mysql aliases
    aliases = dict(p, ssl_ca=f['ca'], ssl_cert=f['client_cert'], ssl_key=f['client_key'], check_hostname=False)
    assert audit_ok(run_module(INFO, aliases)) == ['203.0.113.30']
    # without the client certificate the account is refused
    msg = failure(run_module(INFO, dict(p, ca_cert=f['ca'], check_hostname=False)), TLS_PASSWORD)
    assert msg.startswith('access denied for user nova_tls'), msg
    # a certificate file that is not there is named before connecting
    msg = failure(run_module(INFO, dict(full, client_key=f['client_key'] + '.missing')), TLS_PASSWORD)
    assert msg == 'client_key %s.missing does not exist' % f['client_key'], msg


def test_tls_server_verified_against_ca_cert(tls_server):
    """A server whose certificate another CA signed is refused, whatever check_hostname says."""
    f, p = tls_server['files'], tls_server['params']
    for extra in ({}, {'check_hostname': False}, {'check_hostname': True, 'login_host': 'localhost'}):
        args = dict(p, ca_cert=f['other_ca'], client_cert=f['client_cert'], client_key=f['client_key'], **extra)
        msg = failure(run_module(INFO, args), TLS_PASSWORD)
        assert msg.startswith('the TLS connection to the nova database at ') and 'certificate verify failed' in msg, (extra, msg)


def test_tls_check_hostname(tls_server):
    """The certificate names localhost only: 127.0.0.1 fails the name check (by default and with true)."""
    f, p = tls_server['files'], tls_server['params']
    full = dict(p, ca_cert=f['ca'], client_cert=f['client_cert'], client_key=f['client_key'])
    for extra in ({}, {'check_hostname': True}):
        msg = failure(run_module(INFO, dict(full, **extra)), TLS_PASSWORD)
        assert msg.startswith('the TLS connection to the nova database at 127.0.0.1:') and '127.0.0.1' in msg.split('(', 1)[1], msg
        assert 'check_hostname' in msg, msg
    assert ipaddress.ip_address(p['login_host'])  # the failing name really is an address
    for extra in ({}, {'check_hostname': True}):
        assert audit_ok(run_module(INFO, dict(full, login_host='localhost', **extra))) == ['203.0.113.30']


def test_connect_timeout_does_not_bound_queries(chapter_scenario, nova_db, mariadb_server, tmp_path):
    """Once logged in, a statement may wait longer than connect_timeout: here a 3 s lock wait with connect_timeout=1."""
    with row_locked(mariadb_server):
        sums = nova_db.checksum()
        r = run_module('floating_ip_disassociate', dict(nova_db.params(), address='203.0.113.30', connect_timeout=1, lock_timeout=3,
                                                        backup_dir=str(tmp_path)))
    assert r.failed and r['error_code'] == 'lock_timeout' and 'nothing changed' in r['msg'], r
    assert nova_db.checksum() == sums and os.listdir(str(tmp_path)) == []
