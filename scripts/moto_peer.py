#!/usr/bin/env python3
"""moto's server (the venv's moto, a loopback stand-in for AWS) for the SES and SNS
provider tests.

    moto_peer.py [--verify-email ADDRESS ...] [--region REGION] [--lifetime SECONDS]

Listens on a free 127.0.0.1 port and prints `PORT <n>` as the first line of stdout,
once every --verify-email address is a verified SES identity in --region (default
us-east-1), so that SES accepts it as sender. What moto recorded is read back from
`GET /moto-api/data.json` (SES: ses.Message; SNS: sns.SMS).

It stops on SIGTERM, and by itself after --lifetime seconds (default 600).
"""
import argparse
import logging
import signal
import sys
import threading

from moto.server import ThreadedMotoServer

from parent_watch import exit_with_parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verify-email", action="append", default=[])
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--lifetime", type=float, default=600)
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

    # Quiet: the tests read moto's records instead of its request log.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    if args.verify_email:
        import boto3

        ses = boto3.client(
            "ses", endpoint_url=f"http://{host}:{port}", region_name=args.region,
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="moto-peer-secret")
        for address in args.verify_email:
            ses.verify_email_identity(EmailAddress=address)
    print(f"PORT {port}", flush=True)

    done = threading.Event()

    def stop(*_):
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    done.wait(args.lifetime)
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    exit_with_parent()
    main()
