#!/usr/bin/env python3
"""A loopback HTTPS server that plays the providers (webhook receivers, FCM, APNs, a
Twilio-style SMS API) for tests and benchmarks: it records every request and answers
as scripted.

    provider_sink.py [--cert FILE --key FILE] [--lifetime SECONDS]

Listens on a free 127.0.0.1 port and prints `PORT <n>` as the first line of stdout.
With --cert/--key it speaks TLS. Control endpoints (on the same port):

    POST /_control/script    {"path": "/hook", "responses": [R, ...], "default": R}
                             answers requests to `path` with the listed responses in
                             order, then with `default` (200 when not given). R is
                             {"status": 500, "headers": {...}, "body": "...",
                              "delay_ms": 0, "action": "hang" | "drop",
                              "kill_pid": n}
                             kill_pid: SIGKILL process n once the request is
                             recorded (a sender killed in the middle of its send)
    GET  /_control/requests  every request so far: [{"method", "path", "headers",
                             "body" (base64), "at" (epoch seconds)}], ?path=P filters
    GET  /_control/count     {"requests": n}
    POST /_control/reset     forgets requests and scripts

With --sendgrid-key KEY it also stands in for SendGrid's v3 Mail Send API: a POST to
/v3/mail/send is recorded, then checked against the request contract the service
relies on, in SendGrid's order and error shape:

    401 {"errors": [{"message", "field": null}]}   Authorization is not "Bearer KEY"
    400 {"errors": [{"message", "field"}, ...]}    Content-Type not application/json, a
        body that is not a JSON object, not exactly one personalization with exactly one
        valid `to` address, no valid `from.email`, an empty subject, content that is not
        text/plain (then text/html) with non-empty values, headers or custom_args that
        are not objects of strings, or a reserved header. The messages repeat the
        address on purpose: the client must not report them.

A request that holds the contract gets the scripted answer for /v3/mail/send, or else
202 with an `X-Message-Id`.

It stops on SIGTERM, and by itself after --lifetime seconds (default 600).
"""
import argparse
import base64
import itertools
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from parent_watch import exit_with_parent

LOCK = threading.Lock()
REQUESTS: list = []
SCRIPTS: dict = {}
HANG_SECONDS = 120


SENDGRID_PATH = "/v3/mail/send"
SENDGRID_KEY: str | None = None
SENDGRID_IDS = itertools.count(1)
ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>.]+(\.[^@\s<>.]+)+")
# Headers SendGrid sets itself and refuses in `headers`.
RESERVED_HEADERS = {
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type", "content-transfer-encoding", "to",
    "from", "subject", "reply-to", "cc", "bcc",
}


def sendgrid_errors(headers, body: bytes) -> tuple[int, list]:
    """The status and SendGrid-style errors of a Mail Send request; (202, []) when it
    holds the contract."""
    if headers.get("Authorization") != f"Bearer {SENDGRID_KEY}":
        return 401, [{"message": "The provided authorization grant is invalid, expired, or revoked", "field": None}]
    if not (headers.get("Content-Type") or "").startswith("application/json"):
        return 400, [{"message": "Content-Type should be application/json.", "field": None}]
    try:
        mail = json.loads(body)
    except ValueError:
        return 400, [{"message": "Bad Request", "field": None}]
    if not isinstance(mail, dict):
        return 400, [{"message": "Bad Request", "field": None}]
    errors = []

    def email_error(value, field):
        if not isinstance(value, str) or not ADDRESS.fullmatch(value):
            errors.append({"message": f"Does not contain a valid address: {value!r}", "field": field})

    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or len(personalizations) != 1 or not isinstance(personalizations[0], dict):
        errors.append({"message": "The personalizations field is required and must have exactly one item.",
                       "field": "personalizations"})
    else:
        to = personalizations[0].get("to")
        if not isinstance(to, list) or len(to) != 1 or not isinstance(to[0], dict):
            errors.append({"message": "The to array is required and must have exactly one recipient.",
                           "field": "personalizations.0.to"})
        else:
            email_error(to[0].get("email"), "personalizations.0.to.0.email")
    sender = mail.get("from")
    if not isinstance(sender, dict):
        errors.append({"message": "The from object must be provided for every email send.", "field": "from"})
    else:
        email_error(sender.get("email"), "from.email")
        if "name" in sender and not isinstance(sender["name"], str):
            errors.append({"message": "The from name must be a string.", "field": "from.name"})
    subject = mail.get("subject")
    if not isinstance(subject, str) or not subject:
        errors.append({"message": "The subject is required.", "field": "subject"})
    content = mail.get("content")
    if not isinstance(content, list) or not 1 <= len(content) <= 2:
        errors.append({"message": "The content must be one or two items.", "field": "content"})
    else:
        for index, (item, wanted) in enumerate(zip(content, ["text/plain", "text/html"])):
            if not isinstance(item, dict) or item.get("type") != wanted:
                errors.append({"message": "If present, text/plain must be first, followed by text/html.",
                               "field": f"content.{index}.type"})
            elif not isinstance(item.get("value"), str) or not item["value"]:
                errors.append({"message": "The content value must be a string at least one character in length.",
                               "field": f"content.{index}.value"})
    for name in ("headers", "custom_args"):
        value = mail.get(name)
        if value is not None and (not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())):
            errors.append({"message": f"The {name} must be an object of strings.", "field": name})
    for header in (mail.get("headers") or {}) if isinstance(mail.get("headers"), dict) else {}:
        if header.lower() in RESERVED_HEADERS:
            errors.append({"message": f"The header {header} is reserved.", "field": "headers"})
    return (400, errors) if errors else (202, [])


def scripted_response(path: str) -> dict:
    with LOCK:
        script = SCRIPTS.get(path)
        if script is None:
            return {"status": 200}
        if script["responses"]:
            return script["responses"].pop(0)
        return script["default"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    tls_context: ssl.SSLContext | None = None

    def setup(self):
        # The TLS handshake runs in the connection's own thread, not in the accept loop.
        if self.tls_context is not None:
            self.request = self.tls_context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format, *args):  # quiet: the tests read the records instead
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        if not any(name.lower() == "content-type" for name in (headers or {})):
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _control(self, method: str, body: bytes) -> None:
        url = urlsplit(self.path)
        if method == "POST" and url.path == "/_control/script":
            spec = json.loads(body)
            with LOCK:
                SCRIPTS[spec["path"]] = {
                    "responses": list(spec.get("responses", [])),
                    "default": spec.get("default", {"status": 200}),
                }
            self._reply(204)
        elif method == "POST" and url.path == "/_control/reset":
            with LOCK:
                REQUESTS.clear()
                SCRIPTS.clear()
            self._reply(204)
        elif method == "GET" and url.path == "/_control/requests":
            wanted = parse_qs(url.query).get("path", [None])[0]
            with LOCK:
                items = [r for r in REQUESTS if wanted is None or r["path"] == wanted]
            self._reply(200, json.dumps(items).encode())
        elif method == "GET" and url.path == "/_control/count":
            with LOCK:
                count = len(REQUESTS)
            self._reply(200, json.dumps({"requests": count}).encode())
        else:
            self._reply(404)

    def _handle(self, method: str) -> None:
        body = self._body()
        if self.path.startswith("/_control/"):
            self._control(method, body)
            return
        path = urlsplit(self.path).path
        with LOCK:
            REQUESTS.append({
                "method": method,
                "path": path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": base64.b64encode(body).decode(),
                "at": time.time(),
            })
        if SENDGRID_KEY is not None and path == SENDGRID_PATH and method == "POST":
            status, errors = sendgrid_errors(self.headers, body)
            if errors:
                self._reply(status, json.dumps({"errors": errors}).encode())
                return
            with LOCK:
                scripted = path in SCRIPTS
            if not scripted:
                self._reply(202, b"", {"X-Message-Id": f"sg-standin-{next(SENDGRID_IDS)}", "Content-Type": "text/plain"})
                return
        response = scripted_response(path)
        if response.get("kill_pid"):
            try:
                os.kill(int(response["kill_pid"]), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if response.get("delay_ms"):
            time.sleep(response["delay_ms"] / 1000)
        action = response.get("action")
        if action == "hang":
            time.sleep(HANG_SECONDS)
            self.close_connection = True
            return
        if action == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self._reply(int(response.get("status", 200)), response.get("body", "{}").encode(), response.get("headers"))

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--lifetime", type=float, default=600)
    parser.add_argument("--sendgrid-key", help="stand in for SendGrid's Mail Send API with this API key")
    args = parser.parse_args()
    global SENDGRID_KEY
    SENDGRID_KEY = args.sendgrid_key
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        Handler.tls_context = context
    server = Server(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)

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
