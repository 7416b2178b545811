#!/usr/bin/env python3
"""A loopback SMTP server for the email tests, built on aiosmtpd's Controller: it keeps
every message it accepts as a file for the test to read back, and can require AUTH,
offer STARTTLS, refuse recipients or messages with a chosen reply code, or answer DATA
slowly.

    smtp_sink.py --maildir DIR [--port 0] [--auth USER:PASS] [--auth-exclude PLAIN]
                 [--tls-cert CERT --tls-key KEY [--require-starttls]]
                 [--reply-code 451 [--reply-at RCPT|DATA]] [--no-smtputf8] [--data-delay-ms 0]
                 [--lifetime 300] [--verbose]

Listens on 127.0.0.1 only, on --port (0: a free one) and prints `PORT <n>` as the first
line of stdout once it accepts connections. Each accepted message becomes
DIR/<n>-<uuid>.json (written whole, then renamed into place) holding the envelope
(mail_from, rcpt_tos, mail_options), whether TLS and AUTH were used, how many
connections were open when the message's DATA ended (connections_open), the raw DATA
content in base64, the headers as Python's email package decodes them, and the decoded
body in base64 (empty for a multipart message), the content type, every leaf part (content
type, charset, transfer encoding, decoded body in base64, in order) and the names of the
defects the parser found; beside it DIR/<n>-<uuid>.eml holds the message as received, for a
person to open in a mail reader (written first, so a test that sees the .json sees both).
--data-delay-ms holds the answer to each message's DATA that long (a slow relay). Ends on
SIGTERM or SIGINT, and by itself after --lifetime seconds so that a crashed test leaves
nothing running for long.
"""
import argparse
import asyncio
import base64
import itertools
import json
import logging
import os
import signal
import ssl
import sys
import threading
import uuid
import warnings
from email import policy
from email.parser import Parser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from parent_watch import exit_with_parent


class Connections:
    """The connections open now (counted on aiosmtpd's event loop, so no lock)."""

    def __init__(self):
        self.open = 0


class CountingSMTP(SMTP):
    """aiosmtpd's SMTP session, counting itself in `connections` while its client is
    connected (once, although STARTTLS calls connection_made again)."""

    def __init__(self, *args, connections: Connections, **kwargs):
        super().__init__(*args, **kwargs)
        self.connections = connections
        self.counted = False

    def connection_made(self, transport):
        if not self.counted:
            self.counted = True
            self.connections.open += 1
        super().connection_made(transport)

    def connection_lost(self, error):
        if self.counted:
            self.counted = False
            self.connections.open -= 1
        super().connection_lost(error)


class Sink:
    """The aiosmtpd handler: stores messages, or refuses them as told."""

    def __init__(
        self, maildir: str, reply_code: int | None, reply_at: str, data_delay: float, connections: Connections
    ):
        self.maildir = maildir
        self.reply_code = reply_code
        self.reply_at = reply_at
        self.data_delay = data_delay
        self.connections = connections
        self.counter = itertools.count(1)

    def refusal(self, what: str) -> str:
        # The free text echoes the address on purpose: the client must not report it.
        code = self.reply_code
        detail = "1.1" if self.reply_at == "RCPT" else "3.0"
        return f"{code} {code // 100}.{detail} {what} refused by smtp_sink"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reply_code and self.reply_at == "RCPT":
            return self.refusal(f"<{address}>")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.reply_code and self.reply_at == "DATA":
            return self.refusal(f"message from <{envelope.mail_from}>")
        connections_open = self.connections.open
        if self.data_delay > 0:
            await asyncio.sleep(self.data_delay)
        name = f"{next(self.counter):04d}-{uuid.uuid4().hex}"
        raw = envelope.original_content or b""
        message = Parser(policy=policy.default).parsestr(raw.decode("utf-8", errors="surrogateescape"))
        sender = message["From"]
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "tls": session.ssl is not None,
            "auth": session.auth_data if isinstance(session.auth_data, dict) else None,
            "connections_open": connections_open,
            "raw": base64.b64encode(raw).decode("ascii"),
            "headers": {key: str(value) for key, value in message.items()},
            "from_display_name": sender.addresses[0].display_name if sender is not None else None,
            "from_address": sender.addresses[0].addr_spec if sender is not None else None,
            "body": base64.b64encode(message.get_payload(decode=True) or b"").decode("ascii"),
            "content_type": message.get_content_type(),
            "parts": [
                {
                    "content_type": part.get_content_type(),
                    "charset": part.get_content_charset(),
                    "transfer_encoding": part.get("Content-Transfer-Encoding"),
                    "body": base64.b64encode(part.get_payload(decode=True) or b"").decode("ascii"),
                }
                for part in message.walk()
                if not part.is_multipart()
            ],
            "defects": [type(defect).__name__ for part in message.walk() for defect in part.defects],
        }
        readable = os.path.join(self.maildir, f".{name}.eml.tmp")
        with open(readable, "wb") as file:
            file.write(raw)
        os.replace(readable, os.path.join(self.maildir, f"{name}.eml"))
        temporary = os.path.join(self.maildir, f".{name}.tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(record, file, ensure_ascii=False)
        os.replace(temporary, os.path.join(self.maildir, f"{name}.json"))
        return f"250 2.0.0 OK queued as {name}"


class LoopbackController(Controller):
    """aiosmtpd's Controller, taught port 0 (it pokes the server on `self.port` to check
    that it runs, so that must be the port the system picked) and to count connections."""

    def __init__(self, handler: Sink, **kwargs):
        super().__init__(handler, **kwargs)
        self.connections = handler.connections

    def factory(self):
        return CountingSMTP(self.handler, connections=self.connections, **self.SMTP_kwargs)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def authenticator(expected_user: bytes, expected_password: bytes):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == expected_user
            and auth_data.password == expected_password
        )
        data = {"mechanism": mechanism, "login": auth_data.login.decode("utf-8", "replace")} if ok else None
        return AuthResult(success=ok, handled=False, auth_data=data)

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--auth", metavar="USER:PASS")
    parser.add_argument("--auth-exclude", action="append", default=[], metavar="MECHANISM")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--reply-code", type=int, choices=range(400, 600), metavar="CODE")
    parser.add_argument("--reply-at", choices=["RCPT", "DATA"], default="RCPT")
    parser.add_argument("--no-smtputf8", action="store_true")
    parser.add_argument("--data-delay-ms", type=int, default=0, metavar="MS")
    parser.add_argument("--lifetime", type=float, default=300.0)
    parser.add_argument("--verbose", action="store_true", help="log aiosmtpd's session errors (failed handshakes)")
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    os.makedirs(args.maildir, exist_ok=True)
    # aiosmtpd warns about its own deprecated attributes on every AUTH, logs a traceback
    # for each handshake a test makes fail on purpose, and warns about AUTH without TLS,
    # which is what --auth without --tls-cert asks for.
    logging.getLogger("mail.log").setLevel(logging.WARNING if args.verbose else logging.CRITICAL)
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    options = {
        "server_hostname": "smtp-sink.test",
        "enable_SMTPUTF8": not args.no_smtputf8,
        "tls_context": tls_context,
        "require_starttls": args.require_starttls,
        "auth_exclude_mechanism": args.auth_exclude,
    }
    if args.auth:
        user, _, password = args.auth.partition(":")
        options.update(
            auth_required=True,
            # Without TLS configured, AUTH in plain text (loopback only).
            auth_require_tls=tls_context is not None,
            authenticator=authenticator(user.encode(), password.encode()),
        )
    controller = LoopbackController(
        Sink(args.maildir, args.reply_code, args.reply_at, args.data_delay_ms / 1000, Connections()),
        hostname="127.0.0.1", port=args.port, **options
    )

    stop = threading.Event()
    # A parent may have started us with these signals blocked (the mask is inherited).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    controller.start()
    try:
        print(f"PORT {controller.port}", flush=True)
        stop.wait(args.lifetime)
    finally:
        controller.stop()


if __name__ == "__main__":
    exit_with_parent()
    sys.exit(main())
