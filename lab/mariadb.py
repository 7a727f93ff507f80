# -*- coding: utf-8 -*-
# Copyright (c) cloudops.netdiag contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A private MariaDB server for the lab and the tests.

Nothing here touches the system's MariaDB (there is none running: Debian's mariadb-server-core
ships the binaries only). Everything lives under ``base_dir``::

    base_dir/
      data/            datadir made by mariadb-install-db
      mysqld.sock      unix socket
      mysqld.pid       pid file written by mariadbd
      server.json      what start() recorded: pid, port, socket (lets another process stop it)
      root.password    root's password (mode 0600), generated on first start
      client.cnf       [client] options for the mariadb command line client (mode 0600)
      error.log        mariadbd's error log
      tmp/             mariadbd's tmpdir

The server listens on 127.0.0.1 only (``port`` given, or a free one picked at start) and on the
unix socket. Root is given a random password on first start (every ``root@*`` account), so the
TCP port is not open to every local user.

    db = MariaDB('/var/tmp/x/mariadb')
    db.start()
    db.create_database('nova', 'lab/sql/nova_network_tables.sql')
    db.create_user('nova', 'secret')
    conn = db.connect('nova')
    ...
    db.destroy()
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time

try:
    import pymysql
except ImportError:  # pragma: no cover - the lab needs PyMySQL (requirements.txt)
    pymysql = None

_IDENT = re.compile(r'^[A-Za-z0-9_]{1,64}$')
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class MariaDBError(Exception):
    """The private server could not be installed, started, stopped or used."""


def free_port(host='127.0.0.1'):
    """A TCP port on ``host`` that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is dead for our purposes
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().split(b'\0')
    except OSError:
        return []


class MariaDB(object):
    """One private mariadbd bound to 127.0.0.1 and a unix socket under ``base_dir``."""

    def __init__(self, base_dir, port=None, mariadbd='mariadbd', install_db='mariadb-install-db', client='mariadb'):
        self.base_dir = os.path.abspath(base_dir)
        self.datadir = os.path.join(self.base_dir, 'data')
        self.socket = os.path.join(self.base_dir, 'mysqld.sock')
        self.pid_file = os.path.join(self.base_dir, 'mysqld.pid')
        self.error_log = os.path.join(self.base_dir, 'error.log')
        self.tmpdir = os.path.join(self.base_dir, 'tmp')
        self._state_file = os.path.join(self.base_dir, 'server.json')
        self._password_file = os.path.join(self.base_dir, 'root.password')
        self.client_cnf = os.path.join(self.base_dir, 'client.cnf')
        self.port = port
        self.pid = None
        self._proc = None
        self._bins = {'mariadbd': mariadbd, 'install_db': install_db, 'client': client}
        self._load_state()

    # ------------------------------------------------------------------ state
    def _load_state(self):
        try:
            with open(self._state_file) as f:
                state = json.load(f)
        except (OSError, ValueError):
            return
        if self.port is None:
            self.port = state.get('port')
        self.pid = state.get('pid')

    def _save_state(self):
        tmp = self._state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump({'pid': self.pid, 'port': self.port, 'socket': self.socket, 'datadir': self.datadir}, f)
        os.replace(tmp, self._state_file)

    @property
    def root_password(self):
        try:
            with open(self._password_file) as f:
                return f.read().strip()
        except OSError:
            return None

    def _write_private(self, path, text):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        os.chmod(path, 0o600)

    @property
    def conn_params(self):
        """Connection options in the modules' (community.mysql) names, as root over TCP."""
        return {
            'login_host': '127.0.0.1',
            'login_port': self.port,
            'login_user': 'root',
            'login_password': self.root_password,
            'login_db': 'nova',
            'login_unix_socket': self.socket,
        }

    def is_running(self):
        """True if the mariadbd recorded for this base_dir is alive."""
        return bool(self.pid) and _pid_alive(self.pid) and self._is_ours(self.pid)

    def _is_ours(self, pid):
        args = _cmdline(pid)
        want = ('--datadir=%s' % self.datadir).encode()
        return any(a == want for a in args)

    # ------------------------------------------------------------------ lifecycle
    def _which(self, key):
        name = self._bins[key]
        path = shutil.which(name) or shutil.which(name, path='/usr/sbin:/sbin:/usr/bin:/bin')
        if not path:
            raise MariaDBError('%s not found (install the Debian packages mariadb-server-core and mariadb-client)' % name)
        return path

    def install(self):
        """Create the datadir with mariadb-install-db, unless it exists already."""
        if os.path.isdir(os.path.join(self.datadir, 'mysql')):
            return False
        os.makedirs(self.base_dir, mode=0o700, exist_ok=True)
        argv = [self._which('install_db'), '--no-defaults', '--datadir=%s' % self.datadir,
                '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root']
        log = os.path.join(self.base_dir, 'install.log')
        # once more after a failure, from an empty datadir: a bootstrap that lost a race for a shared resource with
        # another lab's install (two labs built at the same time) succeeds on its second try
        for attempt in (1, 2):
            with open(log, 'wb') as out:
                try:
                    rc = subprocess.call(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=120)
                except subprocess.TimeoutExpired:
                    raise MariaDBError('mariadb-install-db did not finish within 120 s (see %s)' % log)
            if rc == 0:
                return True
            if attempt == 1:
                shutil.rmtree(self.datadir, ignore_errors=True)
                time.sleep(0.5)
        try:
            with open(log, encoding='utf-8', errors='replace') as f:
                tail = ' | '.join(f.read().strip().splitlines()[-5:])
        except OSError:
            tail = ''
        raise MariaDBError('mariadb-install-db failed with exit code %d twice (%s): %s' % (rc, log, tail[-600:]))

    def start(self, timeout=START_TIMEOUT):
        """Install if needed, start mariadbd in the background, wait until it accepts connections."""
        if pymysql is None:
            raise MariaDBError('PyMySQL is required (pip install PyMySQL)')
        if self.is_running():
            return self
        fresh = self.install()
        os.makedirs(self.tmpdir, mode=0o700, exist_ok=True)
        pick_port = self.port is None
        last_error = None
        for dummy in range(3):
            if pick_port:
                self.port = free_port()
            try:
                self._spawn(timeout)
                break
            except MariaDBError as e:
                last_error = e
                if not pick_port or 'Address already in use' not in self._error_log_tail():
                    raise
        else:
            raise last_error
        try:
            if fresh or not self.root_password:
                self._set_root_password()
            self._write_client_cnf()
        except Exception:
            self._terminate()
            raise
        return self

    def _spawn(self, timeout):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self._log_offset = os.path.getsize(self.error_log) if os.path.exists(self.error_log) else 0
        argv = [
            self._which('mariadbd'), '--no-defaults',
            '--datadir=%s' % self.datadir,
            '--socket=%s' % self.socket,
            '--pid-file=%s' % self.pid_file,
            '--port=%d' % self.port,
            '--bind-address=127.0.0.1',
            '--user=root',
            '--skip-name-resolve',
            '--log-error=%s' % self.error_log,
            '--tmpdir=%s' % self.tmpdir,
            '--skip-log-bin',
            '--performance-schema=OFF',
            '--innodb-buffer-pool-size=32M',
            '--innodb-log-file-size=16M',
            '--max-connections=200',
            '--character-set-server=utf8mb4',
            '--collation-server=utf8mb4_general_ci',
        ]
        self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        self.pid = self._proc.pid
        self._save_state()
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                self.pid = None
                self._save_state()
                raise MariaDBError('mariadbd exited with code %s during start-up: %s'
                                   % (self._proc.returncode, self._error_log_tail()))
            if os.path.exists(self.socket) and self._ping():
                return
            if time.monotonic() > deadline:
                self._terminate()
                raise MariaDBError('mariadbd did not accept connections within %d s: %s' % (timeout, self._error_log_tail()))
            time.sleep(0.2)

    def _ping(self):
        for pw in (self.root_password, ''):
            try:
                conn = pymysql.connect(unix_socket=self.socket, user='root', password=pw or '', connect_timeout=2)
            except pymysql.err.OperationalError as e:
                if e.args and e.args[0] == 1045:  # the server answers: it is up
                    continue
                return False
            conn.close()
            return True
        return True

    def _error_log_tail(self, lines=8):
        try:
            with open(self.error_log, 'rb') as f:
                f.seek(getattr(self, '_log_offset', 0))
                text = f.read().decode('utf-8', 'replace')
        except OSError:
            return '(no error log)'
        return ' | '.join(text.strip().splitlines()[-lines:])

    def _set_root_password(self):
        pw = self.root_password or secrets.token_urlsafe(18)
        conn = pymysql.connect(unix_socket=self.socket, user='root', password='', connect_timeout=5, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT host FROM mysql.user WHERE user = 'root'")
                hosts = [r[0] for r in cur.fetchall()]
                for host in hosts:
                    if host in ('localhost', '127.0.0.1', '::1'):
                        cur.execute("ALTER USER 'root'@%s IDENTIFIED BY %s", (host, pw))
                    else:  # root@<machine name>: unusable with skip-name-resolve, drop it
                        cur.execute("DROP USER 'root'@%s", (host,))
                cur.execute('FLUSH PRIVILEGES')
        finally:
            conn.close()
        self._write_private(self._password_file, pw + '\n')

    def _write_client_cnf(self):
        self._write_private(self.client_cnf, '[client]\nuser=root\npassword="%s"\nsocket=%s\n' % (self.root_password, self.socket))

    def stop(self, timeout=STOP_TIMEOUT):
        """Stop our mariadbd by its pid: SIGTERM, wait (bounded), then SIGKILL."""
        self._terminate(timeout)
        return self

    def _terminate(self, timeout=STOP_TIMEOUT):
        pid = self.pid
        if not pid:
            return
        if self._proc is not None and self._proc.pid == pid:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(10)
        elif _pid_alive(pid) and self._is_ours(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
        self.pid = None
        self._proc = None
        if os.path.isdir(self.base_dir):
            self._save_state()

    def kill(self):
        """SIGKILL the server at once (tests of "DB died"), then forget it."""
        if self.pid and _pid_alive(self.pid) and self._is_ours(self.pid):
            os.kill(self.pid, signal.SIGKILL)
            if self._proc is not None:
                self._proc.wait(10)
            else:
                deadline = time.monotonic() + 10
                while _pid_alive(self.pid) and time.monotonic() < deadline:
                    time.sleep(0.1)
        self.pid = None
        self._proc = None
        self._save_state()

    def destroy(self):
        """Stop the server and remove base_dir entirely."""
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()

    # ------------------------------------------------------------------ use
    def connect(self, db=None, **kw):
        """A PyMySQL connection over the unix socket as root (keyword arguments passed on)."""
        params = {'unix_socket': self.socket, 'user': 'root', 'password': self.root_password or '',
                  'connect_timeout': 5, 'charset': 'utf8mb4'}
        if db is not None:
            params['database'] = db
        params.update(kw)
        return pymysql.connect(**params)

    def create_database(self, name, ddl_path=None):
        """(Re)create database ``name`` and load ``ddl_path`` into it with the mariadb client."""
        if not _IDENT.match(name or ''):
            raise MariaDBError('invalid database name %r' % (name,))
        conn = self.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS `%s`' % name)
                cur.execute('CREATE DATABASE `%s` CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci' % name)
        finally:
            conn.close()
        if ddl_path:
            self.load_sql(name, ddl_path)
        return name

    def load_sql(self, db, path):
        """Run an SQL file (DDL with mariadb-dump's /*!...*/ comments) against ``db``."""
        if not _IDENT.match(db or ''):
            raise MariaDBError('invalid database name %r' % (db,))
        argv = [self._which('client'), '--defaults-file=%s' % self.client_cnf, '--batch', db]
        with open(path, 'rb') as f:
            try:
                res = subprocess.run(argv, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
            except subprocess.TimeoutExpired:
                raise MariaDBError('loading %s into %s took longer than 120 s' % (path, db))
        if res.returncode != 0:
            raise MariaDBError('loading %s into %s failed: %s' % (path, db, res.stderr.decode('utf-8', 'replace').strip()))

    def create_user(self, name, password, grants=('SELECT, INSERT, UPDATE, DELETE ON nova.*',), hosts=('localhost', '127.0.0.1')):
        """Create (or replace) ``name`` for the socket and for TCP from 127.0.0.1 with ``grants``.

        Each grant is the text between GRANT and TO, e.g. ``'SELECT ON nova.*'``.
        """
        conn = self.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                for host in hosts:
                    cur.execute('DROP USER IF EXISTS %s@%s', (name, host))
                    cur.execute('CREATE USER %s@%s IDENTIFIED BY %s', (name, host, password))
                    for grant in grants:
                        cur.execute('GRANT ' + grant + ' TO %s@%s', (name, host))
        finally:
            conn.close()
        return {'login_host': '127.0.0.1', 'login_port': self.port, 'login_user': name,
                'login_password': password, 'login_db': 'nova', 'login_unix_socket': self.socket}

    def connection_id_of(self, user=None):
        """Ids of the connections (processlist) of ``user`` (all when None), for KILL in tests."""
        conn = self.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                if user is None:
                    cur.execute('SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID()')
                else:
                    cur.execute('SELECT id FROM information_schema.processlist WHERE user = %s AND id <> CONNECTION_ID()', (user,))
                return [r[0] for r in cur.fetchall()]
        finally:
            conn.close()
