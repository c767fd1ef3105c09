"""Real identity servers on loopback, started by the tests and stopped after them.

- ``slapd_server``: Debian's OpenLDAP ``slapd`` with a generated ``slapd.conf`` (mdb database,
  a self-signed CA and server certificate for StartTLS and ldaps) and an LDIF of people in
  groups, loaded with ``slapadd`` before the server starts.
- ``oidc_provider``: an OpenID Connect provider in its own process: a throwaway Django
  project generated in a temp dir around django-oidc-provider (discovery, authorize with
  PKCE, token, userinfo, JWKS, end-session), with its own users, groups and login page.

Without slapd (or django-oidc-provider) the tests that need it are skipped, except under
``KB_REQUIRE_SERVERS=1`` (CI), where that is a failure.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import free_port, http_ok, wait_until

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"
SCHEMA = Path("/etc/ldap/schema")
BASE_DN = "dc=example,dc=com"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PW = "admin-secret"
SERVICE_DN = f"cn=kbassist,ou=services,{BASE_DN}"
SERVICE_PW = "service-secret"


def missing(what: str):
    """Skip, or fail under KB_REQUIRE_SERVERS=1."""
    if os.environ.get("KB_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{what} (required: KB_REQUIRE_SERVERS=1)")
    pytest.skip(what)


# --- TLS ------------------------------------------------------------------------------------


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "KB Assist test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


# --- OpenLDAP ---------------------------------------------------------------------------------


def person(uid: str, given: str, family: str, password: str) -> str:
    return textwrap.dedent(f"""\
        dn: uid={uid},ou=people,{BASE_DN}
        objectClass: inetOrgPerson
        uid: {uid}
        cn: {given} {family}
        givenName: {given}
        sn: {family}
        mail: {uid}@example.com
        userPassword: {password}
        """)


def group(name: str, *members: str) -> str:
    lines = [f"dn: cn={name},ou=groups,{BASE_DN}", "objectClass: groupOfNames", f"cn: {name}"]
    lines += [f"member: uid={m},ou=people,{BASE_DN}" for m in members]
    return "\n".join(lines) + "\n"


def directory_ldif(people: dict[str, tuple[str, str, str]], groups: dict[str, list[str]]) -> str:
    """The whole tree: the base, ou=people/groups/services, the service account the app binds
    as, ``people`` (uid: (given, family, password)) and ``groups`` (name: [uid, ...])."""
    entries = [
        f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Corp\n",
        *(f"dn: ou={ou},{BASE_DN}\nobjectClass: organizationalUnit\nou: {ou}\n" for ou in ("people", "groups", "services")),
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: kbassist\n"
        f"userPassword: {SERVICE_PW}\n",
        *(person(uid, *names) for uid, names in people.items()),
        *(group(name, *members) for name, members in groups.items()),
    ]
    return "\n".join(entries)


@dataclass
class Slapd:
    url: str  # ldap:// (StartTLS offered)
    ldaps_url: str
    ca_file: str
    folder: Path
    proc: subprocess.Popen = field(repr=False)

    def connect(self):
        import ldap

        conn = ldap.initialize(self.url)
        conn.simple_bind_s(ROOT_DN, ROOT_PW)
        return conn

    def set_members(self, group_name: str, *uids: str):
        """Replace a group's members (groupOfNames needs at least one: the service account
        stands in for an empty group)."""
        import ldap

        members = [f"uid={u},ou=people,{BASE_DN}".encode() for u in uids] or [SERVICE_DN.encode()]
        conn = self.connect()
        try:
            conn.modify_s(f"cn={group_name},ou=groups,{BASE_DN}", [(ldap.MOD_REPLACE, "member", members)])
        finally:
            conn.unbind_s()

    def settings(self, **overrides) -> dict:
        """The KB_LDAP_* settings that point the app at this server."""
        return {
            "KB_LDAP_SERVER_URI": self.url,
            "KB_LDAP_BIND_DN": SERVICE_DN,
            "KB_LDAP_BIND_PASSWORD": SERVICE_PW,
            "KB_LDAP_USER_SEARCH_BASE": f"ou=people,{BASE_DN}",
            "KB_LDAP_USER_FILTER": "(uid=%(user)s)",
            "KB_LDAP_GROUP_SEARCH_BASE": f"ou=groups,{BASE_DN}",
            "KB_LDAP_GROUP_TYPE": "groupOfNames",
            "KB_LDAP_START_TLS": True,
            "KB_LDAP_TLS_REQUIRE_CERT": "demand",
            "KB_LDAP_TLS_CA_FILE": self.ca_file,
            **overrides,
        }


def _stop(proc: subprocess.Popen, log) -> None:
    """Stop a server started here (ten seconds to go quietly) and close its log."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@contextmanager
def slapd_server(ldif: str):
    if not (os.path.exists(SLAPD) and os.path.exists(SLAPADD) and (SCHEMA / "inetorgperson.schema").exists()):
        missing("OpenLDAP slapd is not installed (apt-get install slapd ldap-utils)")
    folder = Path(tempfile.mkdtemp(prefix="kbassist-slapd-"))
    try:
        (folder / "db").mkdir()
        ca, cert, key = make_certificates(folder)
        (folder / "slapd.conf").write_text(textwrap.dedent(f"""\
            include {SCHEMA}/core.schema
            include {SCHEMA}/cosine.schema
            include {SCHEMA}/inetorgperson.schema
            modulepath /usr/lib/ldap
            moduleload back_mdb
            pidfile {folder}/slapd.pid
            TLSCACertificateFile {ca}
            TLSCertificateFile {cert}
            TLSCertificateKeyFile {key}
            database mdb
            maxsize 16777216
            suffix "{BASE_DN}"
            rootdn "{ROOT_DN}"
            rootpw {ROOT_PW}
            directory {folder}/db
            access to attrs=userPassword by anonymous auth by self write by * none
            access to * by users read by * none
            """))
        (folder / "data.ldif").write_text(ldif)
        subprocess.run([SLAPADD, "-f", str(folder / "slapd.conf"), "-l", str(folder / "data.ldif")],
                       check=True, capture_output=True)
        port, tls_port = free_port(), free_port()
        url, ldaps_url = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"
        log = open(folder / "slapd.log", "wb")
        # -d keeps slapd in the foreground (a child we can stop); level 0 logs only errors.
        proc = subprocess.Popen([SLAPD, "-f", str(folder / "slapd.conf"), "-h", f"{url}/ {ldaps_url}/", "-d", "0"],
                                stdout=log, stderr=subprocess.STDOUT)
        server = Slapd(url=url, ldaps_url=ldaps_url, ca_file=str(ca), folder=folder, proc=proc)

        def answers():
            if proc.poll() is not None:
                raise AssertionError(f"slapd exited: {(folder / 'slapd.log').read_text()}")
            try:
                server.connect().unbind_s()
                return True
            except Exception:
                return False

        try:
            wait_until(answers, timeout=30, what="slapd")
            yield server
        finally:
            _stop(proc, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- OpenID Connect provider ----------------------------------------------------------------------

OP_SETTINGS = """\
from pathlib import Path

HERE = Path(__file__).resolve().parent
SECRET_KEY = "throwaway-test-provider"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
    "django.contrib.messages", "oidc_provider",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "op_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [HERE / "templates"], "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": HERE / "op.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The app under test runs on the same host (another port): cookies must not collide.
SESSION_COOKIE_NAME = "op_sessionid"
CSRF_COOKIE_NAME = "op_csrftoken"
LOGIN_URL = "/login/"
SITE_URL = "{site_url}"
OIDC_USERINFO = "op_claims.userinfo"
OIDC_EXTRA_SCOPE_CLAIMS = "op_claims.GroupsScopeClaims"
"""

OP_URLS = """\
from django.contrib.auth import views
from django.urls import include, path

urlpatterns = [
    path("login/", views.LoginView.as_view(template_name="login.html")),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
"""

OP_CLAIMS = """\
from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims, user):
    claims["name"] = user.get_full_name()
    claims["given_name"] = user.first_name
    claims["family_name"] = user.last_name
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["email_verified"] = True
    return claims


class GroupsScopeClaims(ScopeClaims):
    info_groups = ("Groups", "The groups you are a member of.")

    def scope_groups(self):
        return {"groups": sorted(self.user.groups.values_list("name", flat=True))}
"""

OP_LOGIN = """\
<!doctype html>
<html><head><meta charset="utf-8"><title>Acme identity provider</title>
<style>
body { font-family: sans-serif; background: #1b2a41; color: #fff; display: flex; justify-content: center; padding-top: 12vh; }
form { background: #fff; color: #1b2a41; padding: 28px; border-radius: 10px; width: 320px; }
input { width: 100%; box-sizing: border-box; padding: 8px; margin: 4px 0 12px; }
button { width: 100%; padding: 10px; background: #e36c0a; color: #fff; border: 0; border-radius: 6px; }
</style></head>
<body><form method="post">{% csrf_token %}
<h2>Acme identity provider</h2>
{% if form.errors %}<p>Wrong username or password.</p>{% endif %}
<label>Username <input name="username" id="op-username" autofocus></label>
<label>Password <input name="password" id="op-password" type="password"></label>
<input type="hidden" name="next" value="{{ next }}">
<button type="submit" id="op-submit">Sign in to Acme</button>
</form></body></html>
"""

OP_ADMIN = """\
\"\"\"The provider's own administration, as a command: load users and the client; set groups.\"\"\"
import json
import sys

import django

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from oidc_provider.models import Client, ResponseType, RSAKey  # noqa: E402


def set_groups(username, names):
    user = User.objects.get(username=username)
    user.groups.set([Group.objects.get_or_create(name=n)[0] for n in names])


command, spec = sys.argv[1], json.loads(sys.argv[2])
if command == "setup":
    if not RSAKey.objects.exists():
        call_command("creatersakey")
    for username, person in spec["users"].items():
        user = User.objects.create_user(username, email=person["email"], password=person["password"],
                                        first_name=person["first_name"], last_name=person["last_name"])
        set_groups(username, person["groups"])
    client = Client.objects.create(name="KB Assist", client_type="confidential", client_id=spec["client_id"],
                                   client_secret=spec["client_secret"], jwt_alg="RS256",
                                   require_consent=False, reuse_consent=True)
    client.redirect_uris = spec["redirect_uris"]
    client.post_logout_redirect_uris = spec["post_logout_redirect_uris"]
    client.save()
    client.response_types.add(ResponseType.objects.get(value="code"))
elif command == "groups":
    for username, names in spec.items():
        set_groups(username, names)
"""


@dataclass
class OIDCProvider:
    url: str
    issuer: str
    client_id: str
    client_secret: str
    folder: Path
    env: dict = field(repr=False)

    def admin(self, command: str, spec: dict):
        subprocess.run([sys.executable, str(self.folder / "op_admin.py"), command, json.dumps(spec)],
                       cwd=self.folder, env=self.env, check=True, capture_output=True, timeout=60)

    def set_groups(self, username: str, *groups: str):
        self.admin("groups", {username: list(groups)})

    def reset_groups(self, users: dict[str, dict]):
        self.admin("groups", {username: person["groups"] for username, person in users.items()})

    def settings(self, **overrides) -> dict:
        """The KB_OIDC_* settings that point the app at this provider."""
        return {
            "KB_OIDC_DISCOVERY_URL": self.issuer,
            "KB_OIDC_CLIENT_ID": self.client_id,
            "KB_OIDC_CLIENT_SECRET": self.client_secret,
            "KB_OIDC_SCOPES": "openid email profile groups",
            "KB_OIDC_GROUPS_CLAIM": "groups",
            "KB_OIDC_PROVIDER_NAME": "Acme SSO",
            **overrides,
        }


@contextmanager
def oidc_provider(users: dict[str, dict], *, app_urls: list[str], client_id="kbassist", client_secret="s3cret-client"):
    """``users``: username -> {password, email, first_name, last_name, groups}; ``app_urls``:
    the base URLs the app may be reached at (its callback and logout targets are registered)."""
    import importlib.util

    if importlib.util.find_spec("oidc_provider") is None:
        missing("django-oidc-provider is not installed (requirements-dev.txt)")
    folder = Path(tempfile.mkdtemp(prefix="kbassist-oidc-provider-"))
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        (folder / "templates").mkdir()
        (folder / "op_settings.py").write_text(OP_SETTINGS.replace("{site_url}", url))
        (folder / "op_urls.py").write_text(OP_URLS)
        (folder / "op_claims.py").write_text(OP_CLAIMS)
        (folder / "op_admin.py").write_text(OP_ADMIN)
        (folder / "templates" / "login.html").write_text(OP_LOGIN)
        # Its own environment: nothing of the app's settings leaks in.
        env = {key: value for key, value in os.environ.items() if not key.startswith(("KB_", "DJANGO_", "DATABASE_"))}
        env.update(DJANGO_SETTINGS_MODULE="op_settings", PYTHONPATH=str(folder))
        subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=folder, env=env,
                       check=True, capture_output=True, timeout=120)
        provider = OIDCProvider(url=url, issuer=url + "/openid", client_id=client_id, client_secret=client_secret,
                                folder=folder, env=env)
        provider.admin("setup", {
            "users": users, "client_id": client_id, "client_secret": client_secret,
            "redirect_uris": [base + "/accounts/oidc/callback/" for base in app_urls],
            "post_logout_redirect_uris": [base + "/accounts/login/" for base in app_urls],
        })
        log = open(folder / "provider.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: proc.poll() is None and http_ok(provider.issuer + "/.well-known/openid-configuration"),
                       timeout=60, what="the OpenID Connect provider")
            yield provider
        finally:
            _stop(proc, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
