"""A loopback Microsoft Graph endpoint for the e2e tests: HTTPS on a free loopback port, in
threads of the test process, with a certificate for 127.0.0.1 and localhost signed by a test
CA made with openssl (`ca_file` is the PEM file the gateway is told to trust).

It answers in Microsoft Graph's documented request and response shapes (v1.0):

- The identity platform's token endpoint, `POST /{tenant}/oauth2/v2.0/token` with a form
  body: the client credentials grant (RFC 6749 section 4.4), whose `scope` must be the
  resource's `/.default` scope (`scope` below), and the refresh-token grant (section 6); the
  client authenticates with `client_id`/`client_secret` in the body or HTTP Basic (section
  2.3.1). The answer is `{"token_type": "Bearer", "expires_in", "ext_expires_in",
  "access_token"}` (with `scope` and a new `refresh_token` for the refresh grant), sent with
  `Cache-Control: no-store`; errors are RFC 6749 section 5.2 JSON with the identity
  platform's `error_codes`, `timestamp`, `trace_id` and `correlation_id`: `invalid_client`
  (401) for a wrong secret, `unauthorized_client` for an unknown client id, `invalid_grant`,
  `invalid_scope`, `unsupported_grant_type`, and `invalid_request` for an unknown tenant
  (400). An access token is JWT-shaped, `base64url(header).base64url(payload).signature`,
  its payload holding `aud` (the endpoint's origin), `iss`, `tid` (the tenant id), `iat`,
  `nbf`, `exp`, `appid`, and the application permissions in `roles` (client credentials) or
  the delegated ones in `scp` (refresh token).
- Every Graph request needs `Authorization: Bearer` with a live token issued here, else 401
  `InvalidAuthenticationToken` with `WWW-Authenticate: Bearer`. Reading mail needs the
  Mail.Read or Mail.ReadWrite permission, changing it Mail.ReadWrite, sending Mail.Send
  (else 403 `ErrorAccessDenied`). Errors have Graph's shape `{"error": {"code", "message",
  "innerError": {"date", "request-id", "client-request-id"}}}`; every answer carries
  `request-id` and `client-request-id`. A path Graph does not have is 400 `BadRequest`
  ("Resource not found for the segment ..."), and a query option this endpoint does not
  implement is refused with 400 rather than ignored, so a client that relies on one is
  noticed.
- Mailboxes, `/users/{id | userPrincipalName}` (the segment percent-decoded, the user
  principal name matched without regard to case; 404 `ErrorInvalidUser` otherwise), each
  with a Graph mailbox's default folders. Well-known folder names (`inbox`, `sentitems`,
  `deleteditems`, `junkemail`, `drafts`, `archive`, `outbox`, `conversationhistory`,
  `syncissues`, `conflicts`, `localfailures`, `serverfailures`, `msgfolderroot`, in any case)
  work wherever a folder id does. `GET /users/{u}`; `GET|POST /users/{u}/mailFolders` (the
  top-level folders, hidden ones only with `includeHiddenFolders=true`); `GET
  .../mailFolders/{id}`; `GET|POST .../mailFolders/{id}/childFolders`; `GET
  .../mailFolders/{id}/messages`. Collections page by `$top` (default 10) and `$skip`, a
  further page announced by `@odata.nextLink`; `$select` and `$filter=displayName eq '...'`
  are honoured. A folder is `{id, displayName, parentFolderId, childFolderCount,
  unreadItemCount, totalItemCount, sizeInBytes, isHidden}`; a duplicate name among siblings
  is 409 `ErrorFolderExists`, an id that is not one of Graph's shapes 400
  `ErrorInvalidIdMalformed`, an unknown one 404 `ErrorItemNotFound`.
- Delta query, `GET .../mailFolders/{id}/messages/delta` with `$select` and
  `$filter=receivedDateTime ge|gt <time>`: a first round returns every message of the folder
  page by page, `Prefer: odata.maxpagesize=N` setting the page size (10 without it, and
  `Preference-Applied` saying so); each page but the last carries `@odata.nextLink` (the
  same path with `$skiptoken`), the last `@odata.deltaLink` (the same path with
  `$deltatoken`). A GET of the delta link returns what changed since its round: messages
  added to the folder or changed in it (read state, categories), and `{"id", "@removed":
  {"reason": "deleted"}}` for messages moved out or deleted. Each folder keeps a change log
  with a version counter; a round is a snapshot at the version its first page was asked at,
  and the tokens carry that version, so the links of a round stay valid while new mail
  arrives (it shows up in the next round). Entries carry `@odata.type`
  (`#microsoft.graph.message`), `@odata.etag`, `id` and the selected properties
  (`receivedDateTime` as `2026-12-07T08:00:00Z`).
- Ids: with `Prefer: IdType="ImmutableId"` a message's id stays the same when it is moved;
  without it the (REST) id changes with every move, and an old one is 404.
- `GET /users/{u}/messages/{id}`, and `GET .../messages/{id}/$value`: the MIME bytes as Graph
  sends them, `Content-Type: text/plain` with `Content-Length`; 404 `ErrorItemNotFound` once
  the message is gone.
- `PATCH /users/{u}/messages/{id}` with JSON (`isRead`, `categories`, `flag`, `importance`):
  200 with the message; a change in its folder's delta.
- `POST /users/{u}/messages/{id}/move` with `{"destinationId": folder id or well-known
  name}`: 201 with the message in its new folder; `@removed` in the source folder's delta,
  added in the target's.
- `POST /users/{u}/sendMail` with `Content-Type: text/plain` and the base64 of a MIME message:
  202 with an empty body; 400 `ErrorMimeContentInvalidBase64String` if the body is not base64;
  the recipients are those of the MIME To, Cc and Bcc fields (400 `ErrorInvalidRecipients`
  without any); From must be an address of the mailbox (403 `ErrorSendAsDenied`); a copy is
  saved into Sent Items.
- `GET /groups` with `$filter=groupTypes/any(c:c eq 'Unified')` or `$filter=mail eq '...'`
  and `$select`: the groups a test added; `GET /groups/{id}` (404 `Request_ResourceNotFound`
  for an unknown id).
- A Microsoft 365 group's conversations (reading needs Group-Conversation.Read.All,
  Group-Conversation.ReadWrite.All, Group.Read.All or Group.ReadWrite.All, else 403): `GET
  /groups/{id}/threads` (conversationThread: `id`, `topic`, `hasAttachments`,
  `lastDeliveredDateTime`, `uniqueSenders`, `preview`, `isLocked`; `toRecipients` and
  `ccRecipients` only on `$select`), `GET /groups/{id}/threads/{id}`, `GET
  .../threads/{id}/posts` (post: `@odata.etag`, `id`, `createdDateTime`,
  `lastModifiedDateTime`, `changeKey`, `categories`, `receivedDateTime`, `hasAttachments`,
  `body` {`contentType`, `content`}, `from`, `sender`, `conversationThreadId`,
  `conversationId`, `newParticipants`; `$expand=attachments`, one relationship only), `GET
  .../posts/{id}` and `GET .../posts/{id}/attachments` (fileAttachment: `@odata.type`, `id`,
  `lastModifiedDateTime`, `name`, `contentType`, `size`, `isInline`, `contentId`,
  `contentLocation`, `contentBytes` base64). Collections page by `$top` (default 10) and
  `$skip` behind `@odata.nextLink`; `$filter` on them is not documented and refused.
  A post has no `internetMessageId`: Graph documents none. `post_to_group` delivers a post
  (a new thread, or a reply in one), moving the thread's `lastDeliveredDateTime`.

Faults a test arms: `throttle` (the next Graph requests answer 429 or 503 with
`Retry-After`), `expire_delta_tokens` (every skip and delta token issued so far answers 410
Gone `syncStateNotFound`), `revoke_tokens`, `vanish` (a message the delta still lists whose
`$value` is 404), and `gate` (a `$value` request, or the attachments request of a post,
waits until the test opens the gate).
Every Graph request is recorded (`requests`: method, path and query, Prefer, token, the
monotonic time it arrived, the status answered) and so is every token request
(`token_requests`) and every message sent (`sent`)."""

from __future__ import annotations

import base64
import binascii
import bisect
import email
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

DEFAULT_ROLES = ("Mail.ReadWrite", "Mail.Send")
DEFAULT_PAGE_SIZE = 10

# A mailbox's default folders under the root, with their well-known names; Sync Issues has
# children of its own.
DEFAULT_FOLDERS = [
    ("Archive", "archive", []),
    ("Conversation History", "conversationhistory", []),
    ("Deleted Items", "deleteditems", []),
    ("Drafts", "drafts", []),
    ("Inbox", "inbox", []),
    ("Junk Email", "junkemail", []),
    ("Outbox", "outbox", []),
    ("RSS Feeds", None, []),
    ("Sent Items", "sentitems", []),
    ("Sync Issues", "syncissues", [("Conflicts", "conflicts"), ("Local Failures", "localfailures"),
                                   ("Server Failures", "serverfailures")]),
]

MESSAGE_TYPE = "#microsoft.graph.message"
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

# The shapes of Graph's ids (base64 of a store id): immutable and REST ids of
# messages, and folder ids. An id of none of these shapes is "malformed".
IMMUTABLE_PREFIX = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A"
REST_PREFIX = "AAMkADAwATM0MDAAMS1iNTcwLWIxYTctMDACLTAwCgBGAAAD"
FOLDER_PREFIX = "AQMkADAwATM0MDAAMS1iNTcwLWIxYTctMDACLTAwCgAuAAAD"

MESSAGE_PROPERTIES = [
    "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime",
    "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance", "parentFolderId",
    "conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft",
    "inferenceClassification", "body", "sender", "from", "toRecipients", "ccRecipients", "bccRecipients",
    "replyTo", "flag",
]
FOLDER_PROPERTIES = ["displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount",
                     "sizeInBytes", "isHidden"]
USER_PROPERTIES = ["displayName", "mail", "userPrincipalName", "mailNickname"]
GROUP_READ_PERMISSIONS = ("Group-Conversation.Read.All", "Group-Conversation.ReadWrite.All", "Group.Read.All",
                          "Group.ReadWrite.All")
THREAD_PROPERTIES = ["topic", "hasAttachments", "lastDeliveredDateTime", "uniqueSenders", "preview", "isLocked",
                     "toRecipients", "ccRecipients"]
THREAD_DEFAULT = ["topic", "hasAttachments", "lastDeliveredDateTime", "uniqueSenders", "preview", "isLocked"]
POST_PROPERTIES = ["createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
                   "hasAttachments", "body", "from", "sender", "conversationThreadId", "conversationId",
                   "newParticipants"]
GROUP_PROPERTIES = ["displayName", "mail", "mailEnabled", "mailNickname", "groupTypes", "securityEnabled", "description"]


def _exchange_id(kind: bytes) -> str:
    """An id of the shape Exchange gives conversations, threads and posts: base64 of a
    store id, `AAQk…==`."""
    return base64.b64encode(b"\x00\x04\x24" + kind + os.urandom(40)).decode()


def graph_time(moment: datetime) -> str:
    """Graph's timestamp form: ISO 8601 in UTC to the second, `2026-12-07T08:00:00Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_graph_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_payload(token: str) -> dict:
    """The claims of a JWT-shaped token (its second part, base64url JSON)."""
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


# --------------------------------------------------------------------------- certificates

_CERTS_LOCK = threading.Lock()
_CERTS: dict[str, Path] = {}

_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = Postgate e2e Graph test CA
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


def make_certificates() -> dict[str, Path]:
    """A CA (`ca`, `ca_key`) and a server certificate for 127.0.0.1 and localhost signed by
    it (`cert`, `key`), made with openssl once per process."""
    with _CERTS_LOCK:
        if not _CERTS:
            folder = Path(tempfile.mkdtemp(prefix="postgate-graph-tls-"))
            config = folder / "openssl.cnf"
            config.write_text(_OPENSSL_CONFIG)
            paths = {"ca": folder / "ca.pem", "ca_key": folder / "ca.key", "cert": folder / "server.pem",
                     "key": folder / "server.key", "csr": folder / "server.csr"}

            def run(*args: str) -> None:
                subprocess.run(["openssl", *args], check=True, capture_output=True)

            run("req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-config", str(config),
                "-extensions", "v3_ca", "-keyout", str(paths["ca_key"]), "-out", str(paths["ca"]))
            run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-config", str(config), "-subj", "/CN=localhost",
                "-keyout", str(paths["key"]), "-out", str(paths["csr"]))
            run("x509", "-req", "-in", str(paths["csr"]), "-CA", str(paths["ca"]), "-CAkey", str(paths["ca_key"]),
                "-set_serial", "0x" + secrets.token_hex(8), "-days", "2", "-extfile", str(config),
                "-extensions", "v3_server", "-out", str(paths["cert"]))
            _CERTS.update(paths)
        return dict(_CERTS)


# --------------------------------------------------------------------------- records


@dataclass
class AccessToken:
    value: str
    kind: str  # "application" (client credentials) or "delegated" (refresh token)
    permissions: tuple[str, ...]
    expires_at: float  # time.time()
    upn: str | None = None
    revoked: bool = False


@dataclass
class TokenRequest:
    """One request to the token endpoint, as the endpoint saw it (no secrets kept)."""
    tenant: str
    grant_type: str
    client_id: str | None
    client_authentication: str  # "basic", "body" or "none"
    scope: str | None
    status: int
    error: str | None
    time: float  # time.monotonic() at arrival


@dataclass
class GraphRequest:
    """One Graph request: what arrived (method, path and query as sent, the Prefer values, the
    bearer token, time.monotonic() at arrival) and what it was answered."""
    method: str
    target: str
    kind: str
    time: float
    prefer: list[str]
    content_type: str | None
    token: str | None
    #: The request's fields of interest: Prefer (all values), Content-Type, Accept,
    #: ConsistencyLevel, client-request-id.
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: The mailbox's userPrincipalName (lower case) when the path names a known mailbox.
    user: str | None = None
    #: The folder id when the path names a known folder.
    folder_id: str | None = None
    #: The immutable id of the message the path names, when known.
    message_id: str | None = None
    status: int = 0
    #: Delta answers: the number of entries in `value`, and "next" or "delta" for the link.
    entries: int | None = None
    link: str | None = None

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path)

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def preference(self, name: str) -> str | None:
        """The value of the Prefer preference `name` (case-insensitive), quotes removed."""
        for item in self.prefer:
            key, _, value = item.partition("=")
            if key.strip().lower() == name.lower():
                return value.strip().strip('"')
        return None

    @property
    def immutable_ids(self) -> bool:
        return (self.preference("IdType") or "").lower() == "immutableid"


@dataclass
class SentMail:
    """A message accepted by sendMail: the decoded MIME and the recipients Graph read from it."""
    user: str
    mime: bytes
    sender: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    time: float

    @property
    def recipients(self) -> list[str]:
        return self.to + self.cc + self.bcc


@dataclass
class Gate:
    """Holds the `$value` request of one message: `arrived` is set when it comes in, and it is
    answered once `release` is set (`open()`)."""
    message_id: str
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    timeout: float = 300.0

    def open(self) -> None:
        self.release.set()


@dataclass
class MessageInfo:
    """A message's state on the endpoint, for assertions."""
    id: str
    folder_id: str
    folder: str  # display name
    is_read: bool
    categories: list[str]
    received: str
    vanished: bool
    deleted: bool


class _Answer(Exception):
    """An answer decided early: status, body bytes and headers."""

    def __init__(self, status: int, body: bytes = b"", headers: list[tuple[str, str]] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or []


def graph_error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> _Answer:
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": graph_time(datetime.now(timezone.utc)), "request-id": str(uuid.uuid4()),
                                     "client-request-id": str(uuid.uuid4())}}}
    return _Answer(status, json.dumps(body).encode(), [("Content-Type", JSON_TYPE), *(headers or [])])


def not_found() -> _Answer:
    return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def malformed() -> _Answer:
    return graph_error(400, "ErrorInvalidIdMalformed", "Id is malformed.")


# --------------------------------------------------------------------------- the store


class _Folder:
    def __init__(self, folder_id: str, name: str, parent_id: str | None, well_known: str | None = None,
                 hidden: bool = False):
        self.id = folder_id
        self.display_name = name
        self.parent_id = parent_id
        self.well_known = well_known
        self.hidden = hidden
        self.children: list[str] = []
        #: The messages in the folder now, in the order they came in.
        self.members: dict[str, None] = {}
        #: The change log: version i's message is log_ids[i - 1]; per message, (version, present).
        self.version = 0
        self.log_versions: list[int] = []
        self.log_ids: list[str] = []
        self.history: dict[str, list[tuple[int, bool]]] = {}

    def record(self, message_id: str, present: bool) -> None:
        self.version += 1
        self.log_versions.append(self.version)
        self.log_ids.append(message_id)
        self.history.setdefault(message_id, []).append((self.version, present))
        if present:
            self.members.setdefault(message_id, None)
        else:
            self.members.pop(message_id, None)

    def present_at(self, message_id: str, version: int) -> bool:
        for v, present in reversed(self.history.get(message_id, ())):
            if v <= version:
                return present
        return False


class _Message:
    __slots__ = ("id", "rest_id", "mime", "received", "created", "modified", "folder_id", "is_read", "categories",
                 "flag", "importance", "change_key", "conversation_id", "vanished", "deleted", "rest_in", "_parsed")

    def __init__(self, message_id: str, rest_id: str, mime: bytes, received: str, folder_id: str, is_read: bool):
        self.id = message_id
        self.rest_id = rest_id
        self.mime = mime
        self.received = received
        self.created = received
        self.modified = received
        self.folder_id = folder_id
        self.is_read = is_read
        self.categories: list[str] = []
        self.flag = {"flagStatus": "notFlagged"}
        self.importance = "normal"
        self.change_key = "CQAAABYAAAA" + b64url(os.urandom(12))
        self.conversation_id = "AAQkAD" + b64url(os.urandom(24)) + "="
        self.vanished = False
        self.deleted = False
        #: The REST id the message had in each folder it was in (for @removed entries).
        self.rest_in: dict[str, str] = {folder_id: rest_id}
        self._parsed = None

    def parsed(self) -> email.message.EmailMessage:
        if self._parsed is None:
            self._parsed = email.message_from_bytes(self.mime, policy=default_policy)
        return self._parsed

    def changed(self) -> None:
        self.change_key = "CQAAABYAAAA" + b64url(os.urandom(12))
        self.modified = graph_time(datetime.now(timezone.utc))


class _Mailbox:
    def __init__(self, upn: str, display_name: str, aliases: Iterable[str]):
        self.id = str(uuid.uuid4())
        self.upn = upn
        self.display_name = display_name
        self.aliases = [a.lower() for a in aliases]
        self.folders: dict[str, _Folder] = {}
        self.well_known: dict[str, str] = {}
        self.messages: dict[str, _Message] = {}
        self.rest_index: dict[str, str] = {}
        root = self.new_folder("Top of Information Store", None, "msgfolderroot")
        self.root_id = root.id
        for name, well_known, children in DEFAULT_FOLDERS:
            folder = self.new_folder(name, root.id, well_known)
            for child_name, child_well_known in children:
                self.new_folder(child_name, folder.id, child_well_known)

    def new_folder(self, name: str, parent_id: str | None, well_known: str | None = None, hidden: bool = False) -> _Folder:
        folder = _Folder(FOLDER_PREFIX + b64url(os.urandom(24)) + "AAAA", name, parent_id, well_known, hidden)
        self.folders[folder.id] = folder
        if parent_id is not None:
            self.folders[parent_id].children.append(folder.id)
        if well_known:
            self.well_known[well_known] = folder.id
        return folder

    def addresses(self) -> set[str]:
        return {self.upn.lower(), *self.aliases}


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that went away (killed, or refusing the certificate) is not an error here.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            size = int(handler.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline(65537)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _preferences(headers) -> list[str]:
    """Every preference of every Prefer field (RFC 7240 section 2), in order."""
    values: list[str] = []
    for field_value in headers.get_all("Prefer") or []:
        values += [item.strip() for item in field_value.split(",") if item.strip()]
    return values


@dataclass
class _Call:
    method: str
    raw_path: str
    query: dict[str, str]
    body: bytes
    token: AccessToken
    record: GraphRequest
    content_type: str

    @property
    def immutable(self) -> bool:
        return self.record.immutable_ids


@dataclass
class _SyncToken:
    mailbox_id: str
    folder_id: str
    since: int | None  # None: a first round
    until: int | None  # the round's snapshot version; None in a delta token (fixed when it is used)
    offset: int
    select: list[str] | None
    received_filter: tuple[str, str] | None
    expired: bool = False


# --------------------------------------------------------------------------- the endpoint


class GraphServer:
    """The loopback Graph endpoint. `start()` it, add mailboxes and messages, point the
    gateway at `base_url`, `token_endpoint`, `scope` and `ca_file`, and read `requests`,
    `token_requests` and `sent`."""

    def __init__(self, client_id: str | None = None, client_secret: str | None = None, tenant: str | None = None,
                 roles: Iterable[str] = DEFAULT_ROLES, lifetime: int = 3599):
        self.client_id = client_id or str(uuid.uuid4())
        self.client_secret = client_secret if client_secret is not None else "graph-secret~" + secrets.token_urlsafe(24)
        #: The directory tenant id (a GUID); the token endpoint answers only for it.
        self.tenant = tenant or str(uuid.uuid4())
        #: Application permissions (`roles`) of the tokens issued from now on.
        self.roles: list[str] = list(roles)
        #: `expires_in` of the tokens issued from now on, in seconds (0: already expired).
        self.lifetime = lifetime
        self.lock = threading.RLock()
        self.requests: list[GraphRequest] = []
        self.token_requests: list[TokenRequest] = []
        self.sent: list[SentMail] = []
        #: Tracebacks of requests this endpoint failed on (answered 500); empty unless it has a bug.
        self.errors: list[str] = []
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, str] = {}  # token -> the mailbox's upn
        self.mailboxes: dict[str, _Mailbox] = {}
        self.groups: list[dict] = []
        #: The conversation threads of each group, by group id; each thread holds its posts.
        self.group_threads: dict[str, list[dict]] = {}
        self._post_clock = datetime(1970, 1, 1, tzinfo=timezone.utc)
        self.gates: dict[str, Gate] = {}
        self._app_object_id = str(uuid.uuid4())
        self._sync_tokens: dict[str, _SyncToken] = {}
        self._delta_cache: dict[tuple, list[tuple[str, bool]]] = {}
        self._throttle: list | None = None
        self._connections: set = set()
        self.certificates = make_certificates()
        self.httpd: _HTTPServer | None = None
        self.thread: threading.Thread | None = None

    # ----------------------------------------------------------------- control

    def start(self) -> "GraphServer":
        graph = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 300

            def setup(self):
                self.request.settimeout(self.timeout)
                self.request.do_handshake()
                super().setup()
                with graph.lock:
                    graph._connections.add(self.request)

            def finish(self):
                try:
                    super().finish()
                finally:
                    with graph.lock:
                        graph._connections.discard(self.request)

            def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
                pass

            def do_GET(self):
                graph._serve(self)

            do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificates["cert"], self.certificates["key"])
        self.httpd = _HTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="graph-server",
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        with self.lock:
            for gate in self.gates.values():
                gate.open()
            connections = list(self._connections)
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        for connection in connections:
            try:
                connection.close()
            except OSError:
                pass

    @property
    def port(self) -> int:
        assert self.httpd, "not started"
        return self.httpd.server_address[1]

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1.0"

    @property
    def token_endpoint(self) -> str:
        """The token endpoint with the literal `{tenant}` placeholder."""
        return self.origin + "/{tenant}/oauth2/v2.0/token"

    @property
    def token_url(self) -> str:
        """The token endpoint of this endpoint's tenant."""
        return f"{self.origin}/{self.tenant}/oauth2/v2.0/token"

    @property
    def scope(self) -> str:
        """The client credentials scope: the resource's `.default`."""
        return f"{self.origin}/.default"

    @property
    def ca_file(self) -> str:
        return str(self.certificates["ca"])

    # ----------------------------------------------------------------- mailboxes and folders

    def add_mailbox(self, upn: str, display_name: str | None = None, aliases: Iterable[str] = ()) -> str:
        """A mailbox with the default folders; `aliases` are further addresses it may
        send as. Returns its id."""
        with self.lock:
            mailbox = _Mailbox(upn, display_name or upn.split("@")[0], aliases)
            self.mailboxes[mailbox.id] = mailbox
            return mailbox.id

    def mailbox_id(self, user: str) -> str:
        return self._mailbox_named(user).id

    def create_folder(self, user: str, path: str, parent: str | None = None, hidden: bool = False) -> str:
        """Creates the folder at display-name `path` (`Support/Escalations`: each missing
        level), under `parent` (a folder id or well-known name; the root by default).
        Returns the id of the last level."""
        with self.lock:
            mailbox = self._mailbox_named(user)
            folder = mailbox.folders[self._folder_id(mailbox, parent)] if parent else mailbox.folders[mailbox.root_id]
            for name in path.split("/"):
                existing = [c for c in folder.children if mailbox.folders[c].display_name.casefold() == name.casefold()]
                folder = mailbox.folders[existing[0]] if existing else mailbox.new_folder(name, folder.id, hidden=hidden)
            return folder.id

    def folder_id(self, user: str, folder: str) -> str:
        """The id of a folder given by id, well-known name or display-name path."""
        with self.lock:
            return self._folder_id(self._mailbox_named(user), folder)

    def folder_messages(self, user: str, folder: str) -> list[str]:
        """The immutable ids of the messages in the folder now, in the order they came in."""
        with self.lock:
            mailbox = self._mailbox_named(user)
            return list(mailbox.folders[self._folder_id(mailbox, folder)].members)

    def _group_call(self, call: _Call, kind: str, segments: list[str]):
        matches = [g for g in self.groups if g["id"].lower() == segments[1].lower()]
        if not matches:
            raise graph_error(404, "Request_ResourceNotFound", f"Resource '{segments[1]}' does not exist or one of its "
                                                               "queried reference-property objects are not present.")
        group = matches[0]
        base = f"{self.base_url}/$metadata#groups('{group['id']}')"
        if kind == "group":
            select = self._select(call.query, GROUP_PROPERTIES, "group", extra={"$select"})
            fields = select if select is not None else ["id", *GROUP_PROPERTIES]
            return self._json(200, {"@odata.context": f"{self.base_url}/$metadata#groups/$entity",
                                    "id": group["id"], **{k: group[k] for k in fields if k != "id"}})
        self._need(call, *GROUP_READ_PERMISSIONS)
        threads = self.group_threads.get(group["id"], [])
        if kind == "threads":
            select = self._select(call.query, THREAD_PROPERTIES, "conversationThread", extra={"$select", "$top", "$skip"})
            return self._collection(call, f"{base}/threads", [self._thread_json(t, select) for t in threads])
        found = [t for t in threads if t["id"] == segments[3]]
        if not found:
            raise graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        thread = found[0]
        if kind == "thread":
            select = self._select(call.query, THREAD_PROPERTIES, "conversationThread", extra={"$select"})
            return self._json(200, {"@odata.context": f"{base}/threads/$entity", **self._thread_json(thread, select)})
        if kind == "posts":
            expand = self._expand(call.query)
            select = self._select(call.query, POST_PROPERTIES, "post", extra={"$select", "$top", "$skip", "$expand"})
            return self._collection(call, f"{base}/threads('{thread['id']}')/posts",
                                    [self._post_json(p, select, expand) for p in thread["posts"]])
        posts = [p for p in thread["posts"] if p["id"] == segments[5]]
        if not posts:
            raise graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if kind == "post":
            expand = self._expand(call.query)
            select = self._select(call.query, POST_PROPERTIES, "post", extra={"$select", "$expand"})
            return self._json(200, {"@odata.context": f"{base}/threads('{thread['id']}')/posts/$entity",
                                    **self._post_json(posts[0], select, expand)})
        self._only(call.query, set())
        return self._json(200, {"@odata.context": f"{base}/threads('{thread['id']}')/posts('{posts[0]['id']}')/attachments",
                                "value": posts[0]["attachments"]})

    def _collection(self, call: _Call, context: str, members: list[dict]):
        """A page of `members` by `$top` (default 10) and `$skip`, the next behind `@odata.nextLink`."""
        query = call.query
        top, skip = self._int_option(query, "$top", DEFAULT_PAGE_SIZE), self._int_option(query, "$skip", 0)
        body = {"@odata.context": context, "value": members[skip:skip + top]}
        if skip + top < len(members):
            options = {k: v for k, v in query.items() if k not in ("$skip", "$top")}
            body["@odata.nextLink"] = self._page_link(call, {**options, "$top": str(top), "$skip": str(skip + top)})
        return self._json(200, body)

    @staticmethod
    def _expand(query: dict[str, str]) -> bool:
        if "$expand" not in query:
            return False
        if query["$expand"].strip().lower() != "attachments":
            raise graph_error(400, "BadRequest", "Only $expand=attachments (one relationship) is implemented by this "
                                                 "test endpoint.")
        return True

    @staticmethod
    def _thread_json(thread: dict, select: list[str] | None) -> dict:
        posts = thread["posts"]
        values = {"topic": thread["topic"], "hasAttachments": any(p["hasAttachments"] for p in posts),
                  "lastDeliveredDateTime": thread["lastDeliveredDateTime"],
                  "uniqueSenders": sorted({p["from"]["emailAddress"]["name"] for p in posts}),
                  "preview": re.sub(r"<[^>]*>", "", posts[-1]["body"]["content"])[:255] if posts else "",
                  "isLocked": thread["isLocked"], "toRecipients": [], "ccRecipients": []}
        names = select if select is not None else THREAD_DEFAULT
        return {"id": thread["id"], **{name: values[name] for name in names if name != "id"}}

    @staticmethod
    def _post_json(post: dict, select: list[str] | None, expand: bool) -> dict:
        names = select if select is not None else POST_PROPERTIES
        out = {"@odata.etag": f'W/"{post["changeKey"]}"', "id": post["id"],
               **{name: post[name] for name in names if name != "id"}}
        if expand:
            out["attachments"] = post["attachments"]
        return out

    # ----------------------------------------------------------------- messages

    def add_message(self, user: str, folder: str, mime: bytes, received: datetime | str | None = None,
                    is_read: bool = False) -> str:
        """Delivers `mime` into the folder (id, well-known name or path). Returns its immutable id."""
        return self.add_messages(user, folder, [mime], received, is_read)[0]

    def add_messages(self, user: str, folder: str, mimes: Iterable[bytes], received: datetime | str | None = None,
                     is_read: bool = False) -> list[str]:
        """Delivers many messages at once (one lock, no parsing). Returns their immutable ids."""
        if received is None:
            received = datetime.now(timezone.utc)
        stamp = received if isinstance(received, str) else graph_time(received)
        with self.lock:
            mailbox = self._mailbox_named(user)
            target = mailbox.folders[self._folder_id(mailbox, folder)]
            ids = []
            for mime in mimes:
                ids.append(self._store(mailbox, target, bytes(mime), stamp, is_read).id)
            return ids

    def message_info(self, message_id: str) -> MessageInfo:
        with self.lock:
            mailbox, message = self._message_anywhere(message_id)
            folder = mailbox.folders[message.folder_id]
            return MessageInfo(message.id, folder.id, folder.display_name, message.is_read, list(message.categories),
                               message.received, message.vanished, message.deleted)

    def mark_read(self, message_id: str, read: bool = True) -> None:
        """Changes the read state as another mail client would (a change in the folder's delta)."""
        with self.lock:
            mailbox, message = self._message_anywhere(message_id)
            message.is_read = read
            message.changed()
            mailbox.folders[message.folder_id].record(message.id, True)

    def move_message(self, message_id: str, folder: str) -> None:
        """Moves a message as another mail client would."""
        with self.lock:
            mailbox, message = self._message_anywhere(message_id)
            self._move(mailbox, message, mailbox.folders[self._folder_id(mailbox, folder)])

    def delete_message(self, message_id: str) -> None:
        """Deletes a message for good: `@removed` in its folder's delta, 404 for its requests."""
        with self.lock:
            mailbox, message = self._message_anywhere(message_id)
            message.deleted = True
            mailbox.folders[message.folder_id].record(message.id, False)

    def add_group(self, display_name: str, mail: str, unified: bool = True) -> str:
        """A group the directory lists; `unified` makes it a Microsoft 365 group."""
        group = {"id": str(uuid.uuid4()), "displayName": display_name, "mail": mail, "mailEnabled": True,
                 "mailNickname": mail.split("@")[0], "groupTypes": ["Unified"] if unified else [],
                 "securityEnabled": not unified, "description": None}
        with self.lock:
            self.groups.append(group)
        return group["id"]

    def post_to_group(self, group_id: str, sender: tuple[str, str], body: str, topic: str | None = None,
                      thread_id: str | None = None, content_type: str = "html",
                      attachments: Iterable[tuple[str, str, bytes]] = (), new_participants: Iterable[tuple[str, str]] = (),
                      received: datetime | str | None = None, from_: tuple[str, str] | None = None) -> tuple[str, str]:
        """Delivers a post to the group: a new conversation and thread with `topic`, or a reply
        in `thread_id`. `sender` and `from_` are (name, address); `attachments` (name, content
        type, bytes) become fileAttachments. Returns (thread id, post id)."""
        with self.lock:
            if received is None:
                # Posts delivered here in a row get times a second apart, so their order
                # and each thread's lastDeliveredDateTime move forward as on a real server.
                moment = max(datetime.now(timezone.utc).replace(microsecond=0), self._post_clock + timedelta(seconds=1))
                self._post_clock = moment
            when = received if isinstance(received, str) else graph_time(received or moment)
            threads = self.group_threads.setdefault(group_id, [])
            if thread_id is None:
                thread = {"id": _exchange_id(b"\x00\x04"), "conversationId": _exchange_id(b"\x00\x03"),
                          "topic": topic or "", "posts": [], "isLocked": False}
                threads.append(thread)
            else:
                (thread,) = [t for t in threads if t["id"] == thread_id]
            recipient = lambda pair: {"emailAddress": {"name": pair[0], "address": pair[1]}}  # noqa: E731
            files = [{"@odata.type": "#microsoft.graph.fileAttachment", "id": _exchange_id(b"\x00\x06"),
                      "lastModifiedDateTime": when, "name": name, "contentType": kind, "size": len(data),
                      "isInline": False, "contentId": None, "contentLocation": None,
                      "contentBytes": base64.b64encode(data).decode()} for name, kind, data in attachments]
            post = {"id": _exchange_id(b"\x00\x05"), "createdDateTime": when, "lastModifiedDateTime": when,
                    "changeKey": b64url(os.urandom(12)), "categories": [], "receivedDateTime": when,
                    "hasAttachments": bool(files), "body": {"contentType": content_type, "content": body},
                    "from": recipient(from_ or sender), "sender": recipient(sender),
                    "conversationThreadId": thread["id"], "conversationId": thread["conversationId"],
                    "newParticipants": [recipient(p) for p in new_participants], "attachments": files}
            thread["posts"].append(post)
            # A thread's time moves with every post; always forward, as a clock would.
            thread["lastDeliveredDateTime"] = max(thread.get("lastDeliveredDateTime", when), when)
            return thread["id"], post["id"]

    def group_thread(self, group_id: str, thread_id: str) -> dict:
        with self.lock:
            (thread,) = [t for t in self.group_threads.get(group_id, []) if t["id"] == thread_id]
            return thread

    def issue_refresh_token(self, user: str) -> str:
        """A refresh token for the mailbox's user (delegated permissions)."""
        token = "0.A" + b64url(os.urandom(48))
        with self.lock:
            self.refresh_tokens[token] = self._mailbox_named(user).upn
        return token

    # ----------------------------------------------------------------- faults

    def throttle(self, count: int, retry_after: int, status: int = 429, code: str | None = None) -> None:
        """The next `count` Graph requests (token requests are not counted) answer `status`
        (429 or 503) with `Retry-After: retry_after` and error code `code` (by default
        `ApplicationThrottled` for 429, `serviceNotAvailable` for 503)."""
        code = code or ("ApplicationThrottled" if status == 429 else "serviceNotAvailable")
        with self.lock:
            self._throttle = [count, retry_after, status, code]

    def expire_delta_tokens(self) -> None:
        """Every skip and delta token issued so far answers 410 Gone `syncStateNotFound`."""
        with self.lock:
            for token in self._sync_tokens.values():
                token.expired = True

    def revoke_tokens(self) -> None:
        """Every access token issued so far is refused (401) from now on."""
        with self.lock:
            for token in self.access_tokens.values():
                token.revoked = True

    def vanish(self, message_id: str) -> None:
        """The message stays listed by delta, but requests for it (`$value` too) answer 404."""
        with self.lock:
            self._message_anywhere(message_id)[1].vanished = True

    def gate(self, message_id: str) -> Gate:
        """Holds the `$value` request of the message (or the attachments request of the post
        with this id) until the gate is opened."""
        with self.lock:
            gate = Gate(message_id)
            self.gates[message_id] = gate
            return gate

    # ----------------------------------------------------------------- views

    def requests_for(self, kind: str | None = None, user: str | None = None) -> list[GraphRequest]:
        """The Graph requests recorded so far, of a kind (`delta`, `value`, `update`, `move`,
        `sendMail`, `folders`, `folder`, `childFolders`, `messages`, `message`, `user`,
        `groups`, ...) and for a mailbox, in order of arrival."""
        with self.lock:
            return [r for r in self.requests
                    if (kind is None or r.kind == kind) and (user is None or r.user == user.lower())]

    def value_fetches(self) -> Counter:
        """How often each message's MIME was answered (`$value`, 200), by immutable id."""
        with self.lock:
            return Counter(r.message_id for r in self.requests if r.kind == "value" and r.status == 200)

    def token_request_count(self) -> int:
        with self.lock:
            return len(self.token_requests)

    def successful_token_requests(self) -> int:
        with self.lock:
            return sum(1 for r in self.token_requests if r.status == 200)

    # ----------------------------------------------------------------- dispatch

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            status, body, headers = self._respond(handler)
        except OSError:
            raise
        except Exception:
            with self.lock:
                self.errors.append(traceback.format_exc())
            answer = graph_error(500, "generalException", "the test endpoint failed; see GraphServer.errors")
            status, body, headers = answer.status, answer.body, answer.headers
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    def _respond(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, list[tuple[str, str]]]:
        parts = urlsplit(handler.path)
        segments = [unquote(s) for s in parts.path.split("/")[1:]]
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        body = _read_body(handler)
        if len(segments) == 4 and [s.lower() for s in segments[1:]] == ["oauth2", "v2.0", "token"]:
            if handler.command != "POST":
                return 405, b"", [("Allow", "POST")]
            return self._token_endpoint(segments[0], body, handler.headers.get("Authorization"))
        if segments and segments[0] == "v1.0":
            return self._graph(handler, parts.path, segments[1:], query, body)
        answer = graph_error(404, "NotFound", f"{parts.path} is not a path of this endpoint")
        return answer.status, answer.body, answer.headers

    # ----------------------------------------------------------------- token endpoint

    def _token_endpoint(self, tenant: str, body: bytes, authorization: str | None):
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant_type = form.get("grant_type", "")
        method, client_id, client_secret = "none", form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            method = "basic"
            try:
                pair = base64.b64decode(authorization[6:].strip(), validate=True).decode()
                basic_id, _, basic_secret = pair.partition(":")
                client_id, client_secret = unquote(basic_id.replace("+", " ")), unquote(basic_secret.replace("+", " "))
            except (ValueError, UnicodeDecodeError):
                client_id, client_secret = None, None
        elif client_id is not None:
            method = "body"
        record = TokenRequest(tenant, grant_type, client_id, method, form.get("scope"), 0, None, time.monotonic())

        def answer(status: int, payload: dict, headers: list[tuple[str, str]] | None = None, error: str | None = None):
            record.status, record.error = status, error
            with self.lock:
                self.token_requests.append(record)
            return status, json.dumps(payload).encode(), [
                ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store, no-cache"),
                ("Pragma", "no-cache"), *(headers or [])]

        def refuse(status: int, error: str, aadsts: int, description: str, headers=None):
            now = datetime.now(timezone.utc)
            trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
            return answer(status, {
                "error": error,
                "error_description": f"AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {correlation} "
                                     f"Timestamp: {now.strftime('%Y-%m-%d %H:%M:%SZ')}",
                "error_codes": [aadsts], "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"), "trace_id": trace,
                "correlation_id": correlation, "error_uri": f"{self.origin}/error?code={aadsts}",
            }, headers, error)

        if tenant.lower() != self.tenant.lower():
            return refuse(400, "invalid_request", 90002, f"Tenant '{tenant}' not found. Check to make sure you have the "
                                                         "correct tenant ID and are signing into the correct cloud.")
        if not client_id:
            return refuse(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
        if client_id != self.client_id:
            return refuse(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not found "
                                                              f"in the directory '{self.tenant}'.")
        if grant_type not in ("client_credentials", "refresh_token"):
            return refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type "
                                                                f"'{grant_type}'.")
        if not client_secret:
            return refuse(401, "invalid_client", 7000218, "The request body must contain the following parameter: "
                                                          "'client_assertion' or 'client_secret'.")
        if not secrets.compare_digest(client_secret, self.client_secret):
            headers = [("WWW-Authenticate", 'Basic realm="token"')] if method == "basic" else None
            return refuse(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent "
                                                          "in the request is the client secret value, not the client "
                                                          "secret ID.", headers)
        now = time.time()
        if grant_type == "client_credentials":
            scope = form.get("scope", "")
            if scope != self.scope:
                return refuse(400, "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid. "
                                                             "Client credential flows must have a scope value with "
                                                             "/.default suffixed to the resource identifier "
                                                             "(application ID URI).")
            with self.lock:
                permissions, lifetime = tuple(self.roles), self.lifetime
            claims = {"roles": list(permissions), "idtyp": "app", "sub": self._app_object_id}
            token = AccessToken(self._jwt(claims, now, lifetime), "application", permissions, now + lifetime)
            with self.lock:
                self.access_tokens[token.value] = token
            return answer(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                                "access_token": token.value})
        used = form.get("refresh_token", "")
        with self.lock:
            upn = self.refresh_tokens.get(used)
            permissions, lifetime = tuple(self.roles), self.lifetime
        if upn is None:
            return refuse(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired "
                                                       "due to inactivity.")
        claims = {"scp": " ".join(permissions), "idtyp": "user", "upn": upn, "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, upn))}
        token = AccessToken(self._jwt(claims, now, lifetime), "delegated", permissions, now + lifetime, upn)
        new_refresh = self.issue_refresh_token(upn)
        with self.lock:
            self.access_tokens[token.value] = token
        return answer(200, {"token_type": "Bearer", "scope": " ".join(f"{self.origin}/{p}" for p in permissions),
                            "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token.value,
                            "refresh_token": new_refresh})

    def _jwt(self, claims: dict, now: float, lifetime: int) -> str:
        header = {"typ": "JWT", "alg": "RS256", "kid": "postgate-e2e"}
        payload = {"aud": self.origin, "iss": f"{self.origin}/{self.tenant}/v2.0", "iat": int(now),
                   "nbf": int(now), "exp": int(now + lifetime), "appid": self.client_id,
                   "app_displayname": "Postgate e2e", "oid": self._app_object_id, "tid": self.tenant,
                   "uti": b64url(os.urandom(16)), "ver": "2.0", **claims}
        encode = lambda obj: b64url(json.dumps(obj, separators=(",", ":")).encode())  # noqa: E731
        return f"{encode(header)}.{encode(payload)}.{b64url(os.urandom(256))}"

    # ----------------------------------------------------------------- Graph

    def _graph(self, handler, raw_path: str, segments: list[str], query: dict[str, str], body: bytes):
        authorization = handler.headers.get("Authorization") or ""
        bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
        kind = self._classify(handler.command, segments)
        interesting = {name: ", ".join(handler.headers.get_all(name)) for name in
                       ("Prefer", "Content-Type", "Accept", "ConsistencyLevel", "client-request-id")
                       if handler.headers.get_all(name)}
        record = GraphRequest(handler.command, handler.path, kind, time.monotonic(), _preferences(handler.headers),
                              handler.headers.get("Content-Type"), bearer, interesting, body)
        with self.lock:
            self.requests.append(record)
            if len(segments) >= 2 and segments[0].lower() == "users":
                mailbox = self._find_mailbox(segments[1])
                record.user = mailbox.upn.lower() if mailbox else None
            throttle = self._throttle
            if throttle and throttle[0] > 0:
                throttle[0] -= 1
            else:
                throttle = None
        try:
            if throttle:
                _, retry_after, status, code = throttle
                message = ("Application is over its MailboxConcurrency limit." if status == 429
                           else "The service is not available. Try the request again after a delay.")
                raise graph_error(status, code, message, [("Retry-After", str(retry_after))])
            with self.lock:
                token = self._authenticate(bearer)
            call = _Call(handler.command, raw_path, query, body, token, record, handler.headers.get("Content-Type") or "")
            status, payload, headers = self._route(call, kind, segments)
        except _Answer as early:
            status, payload, headers = early.status, early.body, early.headers
        record.status = status
        client_request_id = handler.headers.get("client-request-id") or str(uuid.uuid4())
        return status, payload, [*headers, ("request-id", str(uuid.uuid4())), ("client-request-id", client_request_id)]

    @staticmethod
    def _classify(method: str, segments: list[str]) -> str:
        low = [s.lower() for s in segments]
        shapes: list[tuple[list[str | None], dict[str, str]]] = [
            (["groups"], {"GET": "groups"}),
            (["groups", None], {"GET": "group"}),
            (["groups", None, "threads"], {"GET": "threads"}),
            (["groups", None, "threads", None], {"GET": "thread"}),
            (["groups", None, "threads", None, "posts"], {"GET": "posts"}),
            (["groups", None, "threads", None, "posts", None], {"GET": "post"}),
            (["groups", None, "threads", None, "posts", None, "attachments"], {"GET": "postAttachments"}),
            (["users", None], {"GET": "user"}),
            (["users", None, "mailfolders"], {"GET": "folders", "POST": "createFolder"}),
            (["users", None, "mailfolders", "delta"], {"GET": "notImplemented"}),
            (["users", None, "mailfolders", None], {"GET": "folder"}),
            (["users", None, "mailfolders", None, "childfolders"], {"GET": "childFolders", "POST": "createFolder"}),
            (["users", None, "mailfolders", None, "messages"], {"GET": "messages"}),
            (["users", None, "mailfolders", None, "messages", "delta"], {"GET": "delta"}),
            (["users", None, "messages", None], {"GET": "message", "PATCH": "update"}),
            (["users", None, "messages", None, "$value"], {"GET": "value"}),
            (["users", None, "messages", None, "move"], {"POST": "move"}),
            (["users", None, "sendmail"], {"POST": "sendMail"}),
        ]
        for shape, methods in shapes:
            if len(shape) == len(low) and all(s is None or s == l for s, l in zip(shape, low)):
                return methods.get(method, "methodNotAllowed")
        return "unknown"

    def _authenticate(self, bearer: str | None) -> AccessToken:
        def refuse(message: str) -> _Answer:
            challenge = f'Bearer realm="", authorization_uri="{self.origin}/common/oauth2/authorize", client_id="{self.client_id}"'
            return graph_error(401, "InvalidAuthenticationToken", message, [("WWW-Authenticate", challenge)])

        if not bearer:
            raise refuse("Access token is empty.")
        if bearer.count(".") != 2:
            raise refuse("IDX14100: JWT is not well formed, there are no dots (.).")
        token = self.access_tokens.get(bearer)
        if token is None:
            raise refuse("Access token validation failure. Invalid audience.")
        if token.revoked:
            raise refuse("Access token has expired or is not yet valid.")
        if time.time() >= token.expires_at:
            raise refuse("Lifetime validation failed, the token is expired.")
        return token

    @staticmethod
    def _need(call: _Call, *permissions: str) -> None:
        if not set(permissions) & set(call.token.permissions):
            raise graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")

    def _route(self, call: _Call, kind: str, segments: list[str]):
        if kind == "unknown":
            last = segments[-1] if segments else ""
            raise graph_error(400, "BadRequest", f"Resource not found for the segment '{last}'.")
        if kind == "notImplemented":
            raise graph_error(501, "NotImplemented", "This request is not implemented by this test endpoint.")
        if kind == "methodNotAllowed":
            raise graph_error(405, "BadRequest", f"The HTTP method '{call.method}' is not allowed for this resource.")
        if kind == "groups":
            with self.lock:
                return self._groups(call)
        if kind in ("group", "threads", "thread", "posts", "post", "postAttachments"):
            with self.lock:
                gate = self.gates.get(segments[5]) if kind == "postAttachments" else None
            if gate is not None:
                gate.arrived.set()
                gate.release.wait(gate.timeout)
            with self.lock:
                return self._group_call(call, kind, segments)
        if kind == "value":
            return self._value(call, segments[1], segments[3])
        with self.lock:
            mailbox = self._mailbox_or_404(segments[1])
            if kind == "user":
                return self._user(call, mailbox)
            if kind == "sendMail":
                return self._send_mail(call, mailbox)
            if kind in ("message", "update", "move"):
                message = self._message_or_404(mailbox, segments[3], call.record)
                if kind == "message":
                    self._need(call, "Mail.Read", "Mail.ReadWrite")
                    select = self._select(call.query, MESSAGE_PROPERTIES, "message", extra={"$select"})
                    return self._json(200, {"@odata.context": self._context(mailbox, "messages/$entity"),
                                            **self._message_json(mailbox, message, call.immutable, select)})
                if kind == "update":
                    return self._update(call, mailbox, message)
                return self._move_call(call, mailbox, message)
            if kind == "folders" or (kind == "createFolder" and len(segments) == 3):
                parent = mailbox.folders[mailbox.root_id]
            else:
                parent = mailbox.folders[self._folder_or_404(mailbox, segments[3])]
                call.record.folder_id = parent.id
            self._need(call, "Mail.Read", "Mail.ReadWrite")
            if kind in ("folders", "childFolders"):
                return self._list_folders(call, mailbox, parent)
            if kind == "createFolder":
                return self._create_folder(call, mailbox, parent)
            if kind == "folder":
                select = self._select(call.query, FOLDER_PROPERTIES, "mailFolder", extra={"$select"})
                return self._json(200, {"@odata.context": self._context(mailbox, "mailFolders/$entity"),
                                        **self._folder_json(mailbox, parent, select)})
            if kind == "messages":
                return self._list_messages(call, mailbox, parent)
            return self._delta(call, mailbox, parent)

    # ----------------------------------------------------------------- lookups (under the lock)

    def _find_mailbox(self, segment: str) -> _Mailbox | None:
        wanted = segment.lower()
        for mailbox in self.mailboxes.values():
            if wanted in (mailbox.id.lower(), mailbox.upn.lower()):
                return mailbox
        return None

    def _mailbox_named(self, user: str) -> _Mailbox:
        mailbox = self._find_mailbox(user)
        if mailbox is None:
            raise KeyError(f"no mailbox {user}")
        return mailbox

    def _mailbox_or_404(self, segment: str) -> _Mailbox:
        mailbox = self._find_mailbox(segment)
        if mailbox is None:
            raise graph_error(404, "ErrorInvalidUser", f"The requested user '{segment}' is invalid.")
        return mailbox

    def _folder_id(self, mailbox: _Mailbox, spec: str) -> str:
        """A folder by id, well-known name or display-name path (helpers; KeyError if none)."""
        if spec.lower() in mailbox.well_known:
            return mailbox.well_known[spec.lower()]
        if spec in mailbox.folders:
            return spec
        folder = mailbox.folders[mailbox.root_id]
        for name in spec.split("/"):
            matches = [c for c in folder.children if mailbox.folders[c].display_name.casefold() == name.casefold()]
            if not matches:
                raise KeyError(f"no folder {spec!r} in {mailbox.upn}")
            folder = mailbox.folders[matches[0]]
        return folder.id

    def _folder_or_404(self, mailbox: _Mailbox, segment: str) -> str:
        if segment.lower() in mailbox.well_known:
            return mailbox.well_known[segment.lower()]
        if segment in mailbox.folders:
            return segment
        if not segment.startswith(FOLDER_PREFIX):
            raise malformed()
        raise not_found()

    def _message_or_404(self, mailbox: _Mailbox, segment: str, record: GraphRequest | None = None) -> _Message:
        message = mailbox.messages.get(segment)
        if message is None and segment in mailbox.rest_index:
            message = mailbox.messages[mailbox.rest_index[segment]]
        if message is None:
            if not (segment.startswith(IMMUTABLE_PREFIX) or segment.startswith(REST_PREFIX)):
                raise malformed()
            raise not_found()
        if record is not None:
            record.message_id, record.folder_id = message.id, message.folder_id
        if message.deleted or message.vanished:
            raise not_found()
        return message

    def _message_anywhere(self, message_id: str) -> tuple[_Mailbox, _Message]:
        for mailbox in self.mailboxes.values():
            if message_id in mailbox.messages:
                return mailbox, mailbox.messages[message_id]
        raise KeyError(f"no message {message_id}")

    # ----------------------------------------------------------------- store changes (under the lock)

    def _store(self, mailbox: _Mailbox, folder: _Folder, mime: bytes, received: str, is_read: bool) -> _Message:
        message = _Message(IMMUTABLE_PREFIX + b64url(os.urandom(30)) + "AAA=", REST_PREFIX + b64url(os.urandom(33)) + "AAA=",
                           mime, received, folder.id, is_read)
        mailbox.messages[message.id] = message
        mailbox.rest_index[message.rest_id] = message.id
        folder.record(message.id, True)
        return message

    def _move(self, mailbox: _Mailbox, message: _Message, target: _Folder) -> None:
        mailbox.folders[message.folder_id].record(message.id, False)
        # A REST id names the item in its folder: a move gives it a new one.
        mailbox.rest_index.pop(message.rest_id, None)
        message.rest_id = REST_PREFIX + b64url(os.urandom(33)) + "AAA="
        mailbox.rest_index[message.rest_id] = message.id
        message.folder_id = target.id
        message.rest_in[target.id] = message.rest_id
        message.changed()
        target.record(message.id, True)

    # ----------------------------------------------------------------- rendering

    def _json(self, status: int, payload: dict, headers: list[tuple[str, str]] | None = None):
        return status, json.dumps(payload).encode(), [("Content-Type", JSON_TYPE), *(headers or [])]

    def _context(self, mailbox: _Mailbox, what: str) -> str:
        return f"{self.base_url}/$metadata#users('{mailbox.upn}')/{what}"

    @staticmethod
    def _only(query: dict[str, str], allowed: set[str]) -> None:
        for key in query:
            if key not in allowed:
                raise graph_error(400, "BadRequest", f"Query option '{key}' is not implemented by this test endpoint.")

    def _select(self, query: dict[str, str], properties: list[str], type_name: str, extra: set[str]) -> list[str] | None:
        self._only(query, extra)
        if "$select" not in query:
            return None
        by_name = {p.lower(): p for p in ["id", *properties]}
        chosen = []
        for name in (n.strip() for n in query["$select"].split(",")):
            if not name:
                continue
            if name.lower() not in by_name:
                raise graph_error(400, "BadRequest", f"Could not find a property named '{name}' on type "
                                                     f"'microsoft.graph.{type_name}'.")
            chosen.append(by_name[name.lower()])
        return chosen

    @staticmethod
    def _addresses(value: str | None) -> list[dict]:
        if not value:
            return []
        return [{"emailAddress": {"name": name or address, "address": address}}
                for name, address in getaddresses([str(value)]) if address]

    def _message_property(self, mailbox: _Mailbox, message: _Message, name: str):
        if name == "receivedDateTime":
            return message.received
        if name == "isRead":
            return message.is_read
        if name == "parentFolderId":
            return message.folder_id
        if name == "createdDateTime":
            return message.created
        if name == "lastModifiedDateTime":
            return message.modified
        if name == "changeKey":
            return message.change_key
        if name == "categories":
            return list(message.categories)
        if name == "importance":
            return message.importance
        if name == "flag":
            return dict(message.flag)
        if name == "conversationId":
            return message.conversation_id
        if name in ("isDeliveryReceiptRequested", "isReadReceiptRequested", "isDraft"):
            return False
        if name == "inferenceClassification":
            return "focused"
        parsed = message.parsed()
        if name == "sentDateTime":
            try:
                return graph_time(parsedate_to_datetime(str(parsed["Date"])))
            except (TypeError, ValueError):
                return message.received
        if name == "subject":
            return str(parsed["Subject"] or "")
        if name == "internetMessageId":
            return str(parsed["Message-ID"] or "") or None
        if name in ("from", "sender"):
            found = self._addresses(parsed["Sender"] if name == "sender" and parsed["Sender"] else parsed["From"])
            return found[0] if found else None
        if name in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo"):
            header = {"toRecipients": "To", "ccRecipients": "Cc", "bccRecipients": "Bcc", "replyTo": "Reply-To"}[name]
            return self._addresses(parsed[header])
        if name == "hasAttachments":
            return any(True for _ in parsed.iter_attachments()) if parsed.is_multipart() else False
        text = ""
        try:
            part = parsed.get_body(("plain", "html"))
            text = part.get_content() if part is not None else ""
        except (KeyError, LookupError, ValueError):
            text = ""
        if name == "bodyPreview":
            return " ".join(text.split())[:255]
        if name == "body":
            return {"contentType": "text", "content": text}
        raise KeyError(name)

    def _message_json(self, mailbox: _Mailbox, message: _Message, immutable: bool, select: list[str] | None) -> dict:
        out = {"@odata.type": MESSAGE_TYPE, "@odata.etag": f'W/"{message.change_key}"',
               "id": message.id if immutable else message.rest_id}
        for name in select if select is not None else MESSAGE_PROPERTIES:
            if name != "id":
                out[name] = self._message_property(mailbox, message, name)
        return out

    def _folder_json(self, mailbox: _Mailbox, folder: _Folder, select: list[str] | None) -> dict:
        members = [mailbox.messages[m] for m in folder.members]
        values = {
            "displayName": folder.display_name, "parentFolderId": folder.parent_id,
            "childFolderCount": len(folder.children), "unreadItemCount": sum(1 for m in members if not m.is_read),
            "totalItemCount": len(members), "sizeInBytes": sum(len(m.mime) for m in members), "isHidden": folder.hidden,
        }
        out = {"id": folder.id}
        for name in select if select is not None else FOLDER_PROPERTIES:
            if name != "id":
                out[name] = values[name]
        return out

    def _page_link(self, call: _Call, options: dict[str, str]) -> str:
        return f"{self.origin}{call.raw_path}?{urlencode(options, safe='$')}"

    # ----------------------------------------------------------------- users, folders, groups

    def _user(self, call: _Call, mailbox: _Mailbox):
        select = self._select(call.query, USER_PROPERTIES, "user", extra={"$select"})
        values = {"displayName": mailbox.display_name, "mail": mailbox.upn, "userPrincipalName": mailbox.upn,
                  "mailNickname": mailbox.upn.split("@")[0]}
        out = {"@odata.context": f"{self.base_url}/$metadata#users/$entity", "id": mailbox.id}
        for name in select if select is not None else USER_PROPERTIES:
            if name != "id":
                out[name] = values[name]
        return self._json(200, out)

    def _list_folders(self, call: _Call, mailbox: _Mailbox, parent: _Folder):
        query = call.query
        select = self._select(query, FOLDER_PROPERTIES, "mailFolder",
                              extra={"$select", "$top", "$skip", "$filter", "includeHiddenFolders"})
        top, skip = self._int_option(query, "$top", DEFAULT_PAGE_SIZE), self._int_option(query, "$skip", 0)
        hidden = query.get("includeHiddenFolders", "").lower() == "true"
        folders = [mailbox.folders[c] for c in parent.children]
        folders = [f for f in folders if hidden or not f.hidden]
        if "$filter" in query:
            match = re.fullmatch(r"\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*", query["$filter"])
            if not match:
                raise graph_error(400, "BadRequest", "Only $filter=displayName eq '...' is implemented by this test endpoint.")
            wanted = match.group(1).replace("''", "'").casefold()
            folders = [f for f in folders if f.display_name.casefold() == wanted]
        folders.sort(key=lambda f: f.display_name.casefold())
        page = folders[skip:skip + top]
        what = "mailFolders" if parent.id == mailbox.root_id else f"mailFolders('{parent.id}')/childFolders"
        body = {"@odata.context": self._context(mailbox, what),
                "value": [self._folder_json(mailbox, f, select) for f in page]}
        if skip + top < len(folders):
            options = {k: v for k, v in query.items() if k not in ("$skip", "$top")}
            if "$top" in query:
                options["$top"] = str(top)
            body["@odata.nextLink"] = self._page_link(call, {**options, "$skip": str(skip + top)})
        return self._json(200, body)

    @staticmethod
    def _int_option(query: dict[str, str], name: str, default: int) -> int:
        if name not in query:
            return default
        try:
            value = int(query[name])
        except ValueError:
            value = -1
        if value < 0 or (name == "$top" and value == 0):
            raise graph_error(400, "BadRequest", f"Invalid value '{query[name]}' for query option '{name}'.")
        return value

    def _create_folder(self, call: _Call, mailbox: _Mailbox, parent: _Folder):
        self._need(call, "Mail.ReadWrite")
        self._only(call.query, set())
        try:
            payload = json.loads(call.body or b"{}")
        except ValueError:
            raise graph_error(400, "BadRequest", "Invalid JSON in the request body.")
        name = payload.get("displayName") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise graph_error(400, "ErrorInvalidRequest", "The folder's displayName is required.")
        if any(mailbox.folders[c].display_name.casefold() == name.casefold() for c in parent.children):
            raise graph_error(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        folder = mailbox.new_folder(name, parent.id, hidden=bool(payload.get("isHidden", False)))
        return self._json(201, {"@odata.context": self._context(mailbox, "mailFolders/$entity"),
                                **self._folder_json(mailbox, folder, None)})

    def _groups(self, call: _Call):
        select = self._select(call.query, GROUP_PROPERTIES, "group", extra={"$select", "$filter", "$top"})
        groups = list(self.groups)
        if "$filter" in call.query:
            by_mail = re.fullmatch(r"\s*mail\s+eq\s+'((?:[^']|'')*)'\s*", call.query["$filter"])
            if by_mail:
                wanted = by_mail.group(1).replace("''", "'").lower()
                groups = [g for g in groups if (g["mail"] or "").lower() == wanted]
            elif re.sub(r"\s+", "", call.query["$filter"]).lower() == "grouptypes/any(c:ceq'unified')":
                groups = [g for g in groups if "Unified" in g["groupTypes"]]
            else:
                raise graph_error(400, "BadRequest", "Only $filter=groupTypes/any(c:c eq 'Unified') and mail eq '...' "
                                                     "are implemented by this test endpoint.")
        groups = groups[:self._int_option(call.query, "$top", 100)]
        fields = select if select is not None else ["id", *GROUP_PROPERTIES]
        context = f"{self.base_url}/$metadata#groups" + (f"({','.join(select)})" if select is not None else "")
        return self._json(200, {"@odata.context": context,
                                "value": [{"id": g["id"], **{k: g[k] for k in fields if k != "id"}} for g in groups]})

    # ----------------------------------------------------------------- messages

    def _list_messages(self, call: _Call, mailbox: _Mailbox, folder: _Folder):
        query = call.query
        select = self._select(query, MESSAGE_PROPERTIES, "message", extra={"$select", "$top", "$skip"})
        top, skip = self._int_option(query, "$top", DEFAULT_PAGE_SIZE), self._int_option(query, "$skip", 0)
        # Newest first, as Graph lists a folder's messages without $orderby.
        members = [mailbox.messages[m] for m in reversed(folder.members)]
        members.sort(key=lambda m: m.received, reverse=True)
        page = members[skip:skip + top]
        body = {"@odata.context": self._context(mailbox, f"mailFolders('{folder.id}')/messages"),
                "value": [self._message_json(mailbox, m, call.immutable, select) for m in page]}
        if skip + top < len(members):
            options = {k: v for k, v in query.items() if k not in ("$skip", "$top")}
            body["@odata.nextLink"] = self._page_link(call, {**options, "$top": str(top), "$skip": str(skip + top)})
        return self._json(200, body)

    def _value(self, call: _Call, user_segment: str, message_segment: str):
        with self.lock:
            mailbox = self._mailbox_or_404(user_segment)
            message = self._message_or_404(mailbox, message_segment, call.record)
            self._need(call, "Mail.Read", "Mail.ReadWrite")
            self._only(call.query, set())
            gate = self.gates.get(message.id)
        if gate is not None:
            gate.arrived.set()
            gate.release.wait(gate.timeout)
        with self.lock:
            message = self._message_or_404(mailbox, message.id)
            return 200, message.mime, [("Content-Type", "text/plain")]

    def _request_json(self, call: _Call) -> dict:
        try:
            payload = json.loads(call.body or b"")
        except ValueError:
            raise graph_error(400, "BadRequest", "Invalid JSON in the request body.")
        if not isinstance(payload, dict):
            raise graph_error(400, "BadRequest", "The request body must be a JSON object.")
        return payload

    def _update(self, call: _Call, mailbox: _Mailbox, message: _Message):
        self._need(call, "Mail.ReadWrite")
        self._only(call.query, set())
        payload = self._request_json(call)
        for key, value in payload.items():
            if key == "isRead" and isinstance(value, bool):
                message.is_read = value
            elif key == "categories" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                message.categories = list(value)
            elif key == "flag" and isinstance(value, dict):
                message.flag = dict(value)
            elif key == "importance" and value in ("low", "normal", "high"):
                message.importance = value
            else:
                raise graph_error(400, "BadRequest", f"Invalid value for property '{key}', or a property this test "
                                                     "endpoint does not change.")
        message.changed()
        mailbox.folders[message.folder_id].record(message.id, True)
        return self._json(200, {"@odata.context": self._context(mailbox, "messages/$entity"),
                                **self._message_json(mailbox, message, call.immutable, None)})

    def _move_call(self, call: _Call, mailbox: _Mailbox, message: _Message):
        self._need(call, "Mail.ReadWrite")
        self._only(call.query, set())
        destination = self._request_json(call).get("destinationId")
        if not isinstance(destination, str) or not destination:
            raise graph_error(400, "ErrorInvalidRequest", "The destinationId is required.")
        target = mailbox.folders[self._folder_or_404(mailbox, destination)]
        self._move(mailbox, message, target)
        return self._json(201, {"@odata.context": self._context(mailbox, "messages/$entity"),
                                **self._message_json(mailbox, message, call.immutable, None)})

    def _send_mail(self, call: _Call, mailbox: _Mailbox):
        self._need(call, "Mail.Send")
        self._only(call.query, set())
        if call.content_type.split(";")[0].strip().lower() != "text/plain":
            raise graph_error(400, "BadRequest", "This test endpoint implements sendMail with MIME content only "
                                                 "(Content-Type: text/plain, the message in base64).")
        try:
            mime = base64.b64decode(re.sub(rb"\s+", b"", call.body), validate=True)
        except (binascii.Error, ValueError):
            mime = b""
        if not mime:
            raise graph_error(400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
        headers = BytesHeaderParser(policy=default_policy).parsebytes(mime)

        def addresses(name: str) -> list[str]:
            return [address for _, address in getaddresses([str(v) for v in headers.get_all(name) or []]) if address]

        to, cc, bcc = addresses("To"), addresses("Cc"), addresses("Bcc")
        if not to + cc + bcc:
            raise graph_error(400, "ErrorInvalidRecipients", "At least one recipient is not valid., A message can't be "
                                                             "sent because it contains no recipients.")
        senders = addresses("From")
        sender = senders[0] if senders else mailbox.upn
        if sender.lower() not in mailbox.addresses():
            raise graph_error(403, "ErrorSendAsDenied", "The user account which was used to submit this request does not "
                                                        "have the right to send mail on behalf of the specified sending "
                                                        "account., Cannot submit message.")
        self.sent.append(SentMail(mailbox.upn, mime, sender, to, cc, bcc, time.monotonic()))
        self._store(mailbox, mailbox.folders[mailbox.well_known["sentitems"]], mime,
                    graph_time(datetime.now(timezone.utc)), True)
        return 202, b"", []

    # ----------------------------------------------------------------- delta

    def _delta(self, call: _Call, mailbox: _Mailbox, folder: _Folder):
        query = call.query
        skip, delta = query.get("$skiptoken"), query.get("$deltatoken")
        if skip is not None or delta is not None:
            # The link's state is in its token; options sent beside it are not looked at.
            value = skip if skip is not None else delta
            token = self._sync_tokens.get(value)
            if token is None or token.mailbox_id != mailbox.id or token.folder_id != folder.id \
                    or (token.until is None) != (delta is not None):
                raise graph_error(410, "syncStateInvalid", "An error occurred with the sync state: the token is not "
                                                           "valid for this request.")
            if token.expired:
                raise graph_error(410, "syncStateNotFound", "The sync state generation is not found. The delta token "
                                                            "is expired and data must be resynchronized.")
            since, until, offset = token.since, token.until, token.offset
            select, received_filter = token.select, token.received_filter
            if until is None:
                until = folder.version
        else:
            select = self._select(query, MESSAGE_PROPERTIES, "message", extra={"$select", "$filter"})
            received_filter = None
            if "$filter" in query:
                match = re.fullmatch(r"\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*", query["$filter"])
                try:
                    moment = parse_graph_time(match.group(2)) if match else None
                except ValueError:
                    moment = None
                if moment is None:
                    raise graph_error(400, "BadRequest", "Only $filter=receivedDateTime ge|gt <time> is supported on "
                                                         "message delta.")
                received_filter = (match.group(1), graph_time(moment))
            since, until, offset = None, folder.version, 0
        page_size = DEFAULT_PAGE_SIZE
        applied = []
        requested = call.record.preference("odata.maxpagesize")
        if requested is not None and requested.isdigit() and int(requested) > 0:
            page_size = int(requested)
            applied.append(f"odata.maxpagesize={page_size}")
        entries = self._delta_entries(mailbox, folder, since, until, received_filter)
        chunk = entries[offset:offset + page_size]
        values = []
        for message_id, present in chunk:
            message = mailbox.messages[message_id]
            if present:
                values.append(self._message_json(mailbox, message, call.immutable, select))
            else:
                values.append({"@odata.type": MESSAGE_TYPE,
                               "id": message.id if call.immutable else message.rest_in.get(folder.id, message.rest_id),
                               "@removed": {"reason": "deleted"}})
        body: dict = {"@odata.context": f"{self.base_url}/$metadata#Collection(message)", "value": values}
        if offset + page_size < len(entries):
            next_token = _SyncToken(mailbox.id, folder.id, since, until, offset + page_size, select, received_filter)
            body["@odata.nextLink"] = self._page_link(call, {"$skiptoken": self._register(next_token)})
            call.record.link = "next"
        else:
            delta_token = _SyncToken(mailbox.id, folder.id, until, None, 0, select, received_filter)
            body["@odata.deltaLink"] = self._page_link(call, {"$deltatoken": self._register(delta_token)})
            call.record.link = "delta"
        call.record.entries = len(values)
        headers = [("Preference-Applied", ", ".join(applied))] if applied else []
        return self._json(200, body, headers)

    def _register(self, token: _SyncToken) -> str:
        state = {"m": token.mailbox_id, "f": token.folder_id, "s": token.since, "u": token.until, "o": token.offset,
                 "n": secrets.token_hex(6)}
        value = b64url(json.dumps(state, separators=(",", ":")).encode())
        self._sync_tokens[value] = token
        return value

    def _delta_entries(self, mailbox: _Mailbox, folder: _Folder, since: int | None, until: int,
                       received_filter: tuple[str, str] | None) -> list[tuple[str, bool]]:
        """The entries of a round, (immutable id, present): with `since` None every message in
        the folder at version `until`; else each message changed in (since, until], present if
        it is in the folder at `until`, removed if it was at `since` and no longer is."""
        key = (mailbox.id, folder.id, since, until, received_filter)
        cached = self._delta_cache.get(key)
        if cached is not None:
            return cached

        def wanted(message_id: str) -> bool:
            if received_filter is None:
                return True
            op, bound = received_filter
            received = parse_graph_time(mailbox.messages[message_id].received)
            limit = parse_graph_time(bound)
            return received >= limit if op == "ge" else received > limit

        entries: list[tuple[str, bool]] = []
        if since is None:
            entries = [(m, True) for m in folder.history if folder.present_at(m, until) and wanted(m)]
        else:
            low = bisect.bisect_right(folder.log_versions, since)
            high = bisect.bisect_right(folder.log_versions, until)
            for message_id in dict.fromkeys(folder.log_ids[low:high]):
                if folder.present_at(message_id, until):
                    if wanted(message_id):
                        entries.append((message_id, True))
                elif folder.present_at(message_id, since):
                    entries.append((message_id, False))
        if len(self._delta_cache) > 256:
            self._delta_cache.clear()
        self._delta_cache[key] = entries
        return entries
