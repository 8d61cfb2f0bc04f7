"""A small OAuth 2.0 authorization server for the e2e tests, on a free loopback port in a
thread of the test process.

- `POST /token`: the refresh-token grant (RFC 6749 section 6). The client authenticates
  with `client_id`/`client_secret` in the body or with HTTP Basic (section 2.3.1); the
  answer is a Bearer access token with `expires_in` (section 5.1), and, when `rotate` is
  set, a new refresh token that replaces the old one (section 6). Errors are those of
  section 5.2. `fail_with` makes it answer `invalid_grant` (400) or an HTTP 500.
- `POST /introspect`: token introspection (RFC 7662 section 2.1, `token=...`), answering
  `{"active": true, "username", "scope", "exp", ...}` for a live access token and
  `{"active": false}` otherwise (section 2.2), which is what a mail server's passdb asks.

Tokens can be revoked or expired, and every request is counted, so a test can tell whether
a token was reused, refreshed, or refused."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote_plus


@dataclass
class AccessToken:
    username: str
    scope: str
    expires_at: float
    revoked: bool = False

    def active(self) -> bool:
        return not self.revoked and time.time() < self.expires_at


@dataclass
class TokenRequest:
    """One request to the token endpoint, as the server saw it (no secrets kept)."""
    client_authentication: str  # "basic", "body" or "none"
    status: int
    error: str | None = None


@dataclass
class Introspection:
    active: bool
    username: str | None = None


class OAuthServer:
    def __init__(self, client_id: str = "postgate-e2e", client_secret: str | None = None,
                 username: str = "alice", scope: str = "https://mail.example/imap offline_access",
                 lifetime: float = 3600, rotate: bool = False):
        self.client_id = client_id
        self.client_secret = client_secret if client_secret is not None else "client-secret-" + secrets.token_hex(8)
        self.username = username
        self.scope = scope
        #: `expires_in` of each access token issued from now on, in seconds.
        self.lifetime = lifetime
        #: Issue a new refresh token with each access token, revoking the one used (RFC 6749 section 6).
        self.rotate = rotate
        #: None, "invalid_grant" (400, RFC 6749 section 5.2) or an HTTP status such as 500.
        self.fail_with: str | int | None = None
        self.lock = threading.Lock()
        self.refresh_tokens: dict[str, bool] = {}  # token -> still valid
        self.access_tokens: dict[str, AccessToken] = {}
        self.token_requests: list[TokenRequest] = []
        self.introspections: list[Introspection] = []
        #: The refresh token each successful grant was made with, in order.
        self.refresh_tokens_used: list[str] = []
        self.refresh_token = self.issue_refresh_token()
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # ----------------------------------------------------------------- control

    def start(self) -> "OAuthServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", errors="replace")
                form = dict(parse_qsl(body, keep_blank_values=True))
                if self.path == "/token":
                    status, answer, headers = server._token(form, self.headers.get("Authorization"))
                elif self.path == "/introspect":
                    status, answer, headers = 200, server._introspect(form.get("token", "")), {}
                else:
                    status, answer, headers = 404, {"error": "not_found"}, {}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                # RFC 6749 section 5.1: token responses are not cached.
                self.send_header("Cache-Control", "no-store")
                self.send_header("Pragma", "no-cache")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="oauth-server", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def port(self) -> int:
        assert self.httpd, "not started"
        return self.httpd.server_address[1]

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/introspect"

    def issue_refresh_token(self) -> str:
        token = "refresh-" + secrets.token_urlsafe(24)
        with self.lock:
            self.refresh_tokens[token] = True
        return token

    def revoke_access_tokens(self) -> None:
        """Revokes every access token issued so far; refresh tokens stay valid."""
        with self.lock:
            for token in self.access_tokens.values():
                token.revoked = True

    def expire_access_tokens(self) -> None:
        """Makes every access token issued so far expire now."""
        with self.lock:
            for token in self.access_tokens.values():
                token.expires_at = min(token.expires_at, time.time())

    def revoke_refresh_token(self, token: str) -> None:
        with self.lock:
            self.refresh_tokens[token] = False

    # ----------------------------------------------------------------- views

    def successful_token_requests(self) -> int:
        with self.lock:
            return sum(1 for r in self.token_requests if r.status == 200)

    def token_request_count(self) -> int:
        with self.lock:
            return len(self.token_requests)

    def introspected(self, active: bool | None = None) -> int:
        with self.lock:
            return sum(1 for i in self.introspections if active is None or i.active == active)

    def issued_secrets(self) -> list[str]:
        """Every secret this server made or was given: client secret, refresh and access tokens."""
        with self.lock:
            return [self.client_secret, *self.refresh_tokens, *self.access_tokens]

    # ----------------------------------------------------------------- endpoints

    def _client(self, form: dict[str, str], authorization: str | None) -> tuple[str, bool]:
        """RFC 6749 section 2.3.1: HTTP Basic with the form-encoded id and secret, or both
        in the body; not both ways at once."""
        if authorization and authorization.lower().startswith("basic "):
            if "client_secret" in form:
                return "basic", False
            try:
                pair = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return "basic", False
            client_id, _, secret = pair.partition(":")
            return "basic", unquote_plus(client_id) == self.client_id and unquote_plus(secret) == self.client_secret
        if "client_id" in form:
            return "body", form["client_id"] == self.client_id and form.get("client_secret") == self.client_secret
        return "none", False

    def _token(self, form: dict[str, str], authorization: str | None) -> tuple[int, dict, dict]:
        method, authenticated = self._client(form, authorization)

        def answer(status: int, error: str | None, body: dict, headers: dict | None = None):
            with self.lock:
                self.token_requests.append(TokenRequest(method, status, error))
            return status, body, headers or {}

        def refuse(status: int, error: str, description: str, headers: dict | None = None):
            return answer(status, error, {"error": error, "error_description": description}, headers)

        if self.fail_with == "invalid_grant":
            return refuse(400, "invalid_grant", "the refresh token has been revoked")
        if isinstance(self.fail_with, int):
            return answer(self.fail_with, None, {"message": "internal error"})
        if form.get("grant_type") != "refresh_token":
            return refuse(400, "unsupported_grant_type", "only refresh_token is supported")
        if not authenticated:
            # RFC 6749 section 5.2: 401 with WWW-Authenticate when Basic was tried.
            headers = {"WWW-Authenticate": 'Basic realm="token"'} if method == "basic" else None
            return refuse(401 if method == "basic" else 400, "invalid_client", "unknown client or wrong secret", headers)
        used = form.get("refresh_token", "")
        with self.lock:
            valid = self.refresh_tokens.get(used, False)
        if not valid:
            return refuse(400, "invalid_grant", "the refresh token is invalid, expired or revoked")
        requested = form.get("scope")
        # RFC 6749 section 6: the scope asked for may not exceed the original grant.
        if requested and not set(requested.split()) <= set(self.scope.split()):
            return refuse(400, "invalid_scope", "the scope exceeds the grant")
        scope = requested or self.scope
        access = "access-" + secrets.token_urlsafe(24)
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.lifetime, "scope": scope}
        with self.lock:
            self.access_tokens[access] = AccessToken(self.username, scope, time.time() + self.lifetime)
            self.refresh_tokens_used.append(used)
        if self.rotate:
            new = self.issue_refresh_token()
            with self.lock:
                self.refresh_tokens[used] = False
            self.refresh_token = new
            body["refresh_token"] = new
        return answer(200, None, body)

    def _introspect(self, token: str) -> dict:
        """RFC 7662 section 2.2: an unknown, expired or revoked token is just inactive."""
        with self.lock:
            found = self.access_tokens.get(token)
            if found is None or not found.active():
                self.introspections.append(Introspection(False))
                return {"active": False}
            self.introspections.append(Introspection(True, found.username))
            return {"active": True, "username": found.username, "scope": found.scope, "client_id": self.client_id,
                    "token_type": "Bearer", "exp": int(found.expires_at)}
