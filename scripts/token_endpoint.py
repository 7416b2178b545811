#!/usr/bin/env python3
"""A loopback HTTPS server that plays Google's OAuth 2 token endpoint, FCM's HTTP v1
`messages:send` and APNs' `/3/device/<token>` for the push credential tests, and checks
the service's signed tokens independently (PyJWT and cryptography, not the service's
code):

    token_endpoint.py --cert FILE --key FILE --dir DIR [--token-lifetime SECONDS]
                      [--apns-max-age SECONDS] [--lifetime SECONDS]

At start it makes fresh keys (nothing is committed) and writes into DIR:
    service-account.json          a Google service-account key whose token_uri is this
                                  server's /token
    foreign-service-account.json  the same account with another RSA key (its
                                  assertions are refused)
    apns.p8, foreign-apns.p8      a P-256 key APNs tokens are checked against, and one
                                  it does not know
then prints `PORT <n>` as the first line of stdout.

    POST /token      form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and
                     assertion=<RS256 JWT>: checks signature, kid, iss, scope, aud (its
                     own token URL), iat and exp; answers {"access_token", "expires_in",
                     "token_type": "Bearer"}, or 400 {"error": "invalid_grant"}
    POST /v1/projects/<project>/messages:send
                     200 for a current issued access token, else 401 UNAUTHENTICATED
    POST /3/device/<token>
                     checks the ES256 provider token against apns.p8 (kid, iss = team):
                     403 InvalidProviderToken when it does not verify, 403
                     ExpiredProviderToken when its iat is older than --apns-max-age

Control endpoints:
    GET  /_control/counts    {"issued", "exchange_rejected", "fcm_sends", "fcm_accepted",
                              "fcm_unauthenticated", "apns_sends", "apns_accepted",
                              "apns_expired", "apns_invalid"}
    GET  /_control/requests  [{"path", "status", "answer", "at"}] (no tokens)
    GET  /_control/keys      {"project_id", "token_uri", "apns_key_id", "apns_team_id"}
    POST /_control/config    {"token_lifetime": s, "apns_max_age": s,
                              "revoke_tokens": true, "reject_fcm": true|false}
                             revoke_tokens: every access token issued so far is refused;
                             reject_fcm: every send is refused with 401

It stops on SIGTERM, and by itself after --lifetime seconds (default 600).
"""
import argparse
import json
import os
import secrets
import signal
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from parent_watch import exit_with_parent

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PROJECT_ID = "token-endpoint-project"
CLIENT_EMAIL = f"notifier@{PROJECT_ID}.iam.gserviceaccount.com"
APNS_KEY_ID = "KEY123ABCD"
APNS_TEAM_ID = "TEAM456XYZ"

LOCK = threading.Lock()
STATE = {
    "token_lifetime": 2.0,
    "apns_max_age": 3600.0,
    "reject_fcm": False,
    "tokens": {},  # access token -> expiry (epoch seconds); None when revoked
    "requests": [],
    "counts": {
        name: 0 for name in (
            "issued", "exchange_rejected", "fcm_sends", "fcm_accepted", "fcm_unauthenticated",
            "apns_sends", "apns_accepted", "apns_expired", "apns_invalid")
    },
}
KEYS: dict = {}


def pkcs8(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def write_keys(directory: str, token_uri: str) -> None:
    account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    apns_key = ec.generate_private_key(ec.SECP256R1())
    foreign_apns = ec.generate_private_key(ec.SECP256R1())
    key_id = secrets.token_hex(20)
    KEYS.update(
        account_public=account_key.public_key(), account_key_id=key_id, token_uri=token_uri,
        apns_public=apns_key.public_key())
    for name, key in (("service-account.json", account_key), ("foreign-service-account.json", foreign_key)):
        document = {
            "type": "service_account", "project_id": PROJECT_ID, "private_key_id": key_id,
            "private_key": pkcs8(key), "client_email": CLIENT_EMAIL, "client_id": "1234567890",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
        }
        write_private(os.path.join(directory, name), json.dumps(document, indent=2))
    write_private(os.path.join(directory, "apns.p8"), pkcs8(apns_key))
    write_private(os.path.join(directory, "foreign-apns.p8"), pkcs8(foreign_apns))


def write_private(path: str, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def count(name: str) -> None:
    STATE["counts"][name] += 1


def check_assertion(assertion: str) -> str | None:
    """None when the assertion is good, else why not (for the test's eyes only)."""
    try:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") != "RS256" or header.get("typ") != "JWT":
            return "header alg/typ"
        if header.get("kid") != KEYS["account_key_id"]:
            return "kid"
        claims = jwt.decode(
            assertion, KEYS["account_public"], algorithms=["RS256"], audience=KEYS["token_uri"],
            issuer=CLIENT_EMAIL, leeway=5, options={"require": ["iss", "aud", "iat", "exp", "scope"]})
    except jwt.PyJWTError as error:
        return type(error).__name__
    now = time.time()
    if claims.get("scope") != SCOPE:
        return "scope"
    if not (now - 300 <= claims["iat"] <= now + 5) or not (0 < claims["exp"] - claims["iat"] <= 3600):
        return "iat/exp"
    return None


def check_provider_token(token: str) -> str | None:
    """None when APNs would take the provider token, else its 403 reason."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "ES256" or header.get("kid") != APNS_KEY_ID:
            return "InvalidProviderToken"
        claims = jwt.decode(
            token, KEYS["apns_public"], algorithms=["ES256"], issuer=APNS_TEAM_ID, leeway=5,
            options={"require": ["iss", "iat"], "verify_exp": False})
    except jwt.PyJWTError:
        return "InvalidProviderToken"
    if time.time() - claims["iat"] > STATE["apns_max_age"]:
        return "ExpiredProviderToken"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tls_context: ssl.SSLContext | None = None

    def setup(self):
        if self.tls_context is not None:
            self.request = self.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format, *args):
        pass

    def _reply(self, status: int, document=None, headers: dict | None = None) -> None:
        body = b"" if document is None else json.dumps(document).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self, path: str, status: int, answer: str) -> None:
        STATE["requests"].append({"path": path, "status": status, "answer": answer, "at": time.time()})

    def do_GET(self):
        path = urlsplit(self.path).path
        with LOCK:
            if path == "/_control/counts":
                document = dict(STATE["counts"])
            elif path == "/_control/requests":
                document = list(STATE["requests"])
            elif path == "/_control/keys":
                document = {
                    "project_id": PROJECT_ID, "token_uri": KEYS["token_uri"], "apns_key_id": APNS_KEY_ID,
                    "apns_team_id": APNS_TEAM_ID}
            else:
                document = None
        self._reply(404 if document is None else 200, document)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        if path == "/_control/config":
            self._config(json.loads(body or b"{}"))
        elif path == "/token":
            self._token(body)
        elif path.startswith("/v1/projects/") and path.endswith("/messages:send"):
            self._fcm(path)
        elif path.startswith("/3/device/"):
            self._apns(path)
        else:
            self._reply(404, {})

    def _config(self, spec: dict) -> None:
        with LOCK:
            for name in ("token_lifetime", "apns_max_age"):
                if name in spec:
                    STATE[name] = float(spec[name])
            if "reject_fcm" in spec:
                STATE["reject_fcm"] = bool(spec["reject_fcm"])
            if spec.get("revoke_tokens"):
                for token in STATE["tokens"]:
                    STATE["tokens"][token] = None
        self._reply(204)

    def _token(self, body: bytes) -> None:
        form = parse_qs(body.decode(), keep_blank_values=True)
        problem = None
        if form.get("grant_type") != [JWT_BEARER] or len(form.get("assertion", [])) != 1:
            problem = "grant_type/assertion"
        elif self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            problem = "content type"
        else:
            problem = check_assertion(form["assertion"][0])
        with LOCK:
            if problem is not None:
                count("exchange_rejected")
                self._record("/token", 400, problem)
                reply = (400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
            else:
                token = "ya29." + secrets.token_urlsafe(32)
                lifetime = STATE["token_lifetime"]
                STATE["tokens"][token] = time.time() + lifetime
                count("issued")
                self._record("/token", 200, "issued")
                # expires_in is whole seconds in Google's answers; a test's short
                # lifetime may be a fraction, which JSON carries as well.
                expires_in = int(lifetime) if lifetime == int(lifetime) else lifetime
                reply = (200, {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"})
        self._reply(*reply)

    def _fcm(self, path: str) -> None:
        authorization = self.headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else ""
        project = unquote(path[len("/v1/projects/"):-len("/messages:send")])
        with LOCK:
            count("fcm_sends")
            expiry = STATE["tokens"].get(token)
            if STATE["reject_fcm"] or expiry is None or time.time() >= expiry:
                count("fcm_unauthenticated")
                self._record(path, 401, "UNAUTHENTICATED")
                reply = (401, {"error": {
                    "code": 401, "message": "Request had invalid authentication credentials.",
                    "status": "UNAUTHENTICATED"}})
            elif project != PROJECT_ID:
                self._record(path, 403, "PERMISSION_DENIED")
                reply = (403, {"error": {"code": 403, "status": "PERMISSION_DENIED"}})
            else:
                count("fcm_accepted")
                name = f"projects/{PROJECT_ID}/messages/{STATE['counts']['fcm_accepted']}"
                self._record(path, 200, "accepted")
                reply = (200, {"name": name})
        self._reply(*reply)

    def _apns(self, path: str) -> None:
        authorization = self.headers.get("authorization", "")
        token = authorization[len("bearer "):] if authorization.lower().startswith("bearer ") else ""
        reason = check_provider_token(token)
        if reason is None and not self.headers.get("apns-topic"):
            reason = "MissingTopic"
        with LOCK:
            count("apns_sends")
            if reason is None:
                count("apns_accepted")
                self._record(path, 200, "accepted")
                reply = (200, None, {"apns-id": self.headers.get("apns-id", "")})
            else:
                count({"ExpiredProviderToken": "apns_expired"}.get(reason, "apns_invalid"))
                self._record(path, 403 if reason != "MissingTopic" else 400, reason)
                reply = (403 if reason != "MissingTopic" else 400, {"reason": reason}, None)
        self._reply(*reply)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--token-lifetime", type=float, default=2)
    parser.add_argument("--apns-max-age", type=float, default=3600)
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    STATE["token_lifetime"] = args.token_lifetime
    STATE["apns_max_age"] = args.apns_max_age

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    Handler.tls_context = context
    server = Server(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    write_keys(args.dir, f"https://127.0.0.1:{port}/token")
    print(f"PORT {port}", flush=True)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.lifetime, stop)
    timer.daemon = True
    timer.start()
    server.serve_forever(poll_interval=0.2)
    sys.exit(0)


if __name__ == "__main__":
    exit_with_parent()
    main()
