# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Connection options of the modules that read or repair the nova database. Named as
    # community.mysql names them, so module_defaults written for community.mysql carry over
    # (group cloudops.netdiag.nova_db).
    DOCUMENTATION = r'''
options:
  login_host:
    description:
      - Host running the nova database server.
      - When omitted, the C(host) of O(config_file) is used, else V(localhost) (over TCP).
      - Ignored when O(login_unix_socket) is set.
    type: str
  login_port:
    description:
      - TCP port of the database server.
      - Always used over TCP, so a C(port) in O(config_file) is not (as in community.mysql).
    type: int
    default: 3306
  login_user:
    description:
      - Database user. When omitted, the C(user) of O(config_file) is used.
      - Reading needs C(SELECT) on the nova tables; M(cloudops.netdiag.floating_ip_disassociate) also
        needs C(UPDATE) on C(floating_ips).
    type: str
  login_password:
    description:
      - Password of O(login_user). When omitted, the C(password) of O(config_file) is used.
      - Never shown in results, messages or logs.
    type: str
  login_db:
    description:
      - Name of the nova (cell) database.
    type: str
    default: nova
  login_unix_socket:
    description:
      - Path of the server's unix socket; when set, O(login_host) and O(login_port) are ignored.
    type: str
  config_file:
    description:
      - A MySQL option file (C(my.cnf) form) whose C([client]) section supplies C(user), C(password),
        C(host), C(socket) and the TLS files (C(ssl-ca), C(ssl-cert), C(ssl-key)) not given as options. Options given
        explicitly win. Its C(port) and C(database) are not used, O(login_port) and O(login_db) (both with defaults) are.
      - Like community.mysql, the default V(~/.my.cnf) is read only if it exists; any other path must exist.
      - Set to an empty string to read no option file at all.
    type: path
    default: '~/.my.cnf'
  ca_cert:
    description:
      - CA certificate to verify the server's TLS certificate; setting it enables TLS.
      - The server's certificate must be signed by this CA, and its name must match O(login_host) unless O(check_hostname=false).
    type: path
    aliases: [ssl_ca]
  client_cert:
    description:
      - Client TLS certificate.
    type: path
    aliases: [ssl_cert]
  client_key:
    description:
      - Private key of O(client_cert).
    type: path
    aliases: [ssl_key]
  check_hostname:
    description:
      - Whether the server's TLS certificate must match O(login_host). Only used with O(ca_cert) or O(client_cert).
      - When omitted and O(ca_cert) is set, the name is checked (what community.mysql does with PyMySQL);
        V(false) still verifies the certificate against O(ca_cert).
      - With O(client_cert) but no O(ca_cert), V(true) verifies the server against the system's CA store;
        omitted or V(false), the server's certificate is not verified.
    type: bool
  connect_timeout:
    description:
      - Seconds to wait for the TCP connection to the server.
      - Every later wait for the server (its greeting, the login, the answer to each statement) is bounded by
        O(connect_timeout) plus 5 seconds, plus the lock wait of modules that take one (O(cloudops.netdiag.floating_ip_disassociate#module:lock_timeout)),
        so a server that accepts connections and never answers ends in an error, not a hang.
    type: int
    default: 30
requirements:
  - PyMySQL on the host that runs the module (usually the controller or a node that reaches the database).
notes:
  - All connection options can be set once for every module of this collection that uses the nova
    database with C(module_defaults) and the group C(group/cloudops.netdiag.nova_db).
  - Every statement is parameterized; names and addresses given by the user never become SQL text.
'''
