#!/usr/bin/env python3
"""Hearth's test SMTP server: a real SMTP server (aiosmtpd) on loopback that keeps every
message it accepts as a file, so that tests can read back what Hearth sent.

    smtp-sink.py --port P --dir D [--user U --password W] [--refuse N] [--delay S]

Each accepted message is written to D/<n>.eml (aside, then renamed, so a reader never sees
half a file), with an X-Sink-Rcpt header naming its envelope recipients. With --user, clients
must authenticate (PLAIN or LOGIN, allowed without TLS on loopback). --refuse N answers the
first N messages with a temporary failure (451), to exercise retries. --delay S waits S
seconds after keeping a message before answering 250, which widens the window in which a
sender killed mid-send has handed over a message without hearing that it was taken.
Prints "ready" once listening; runs until killed or until its standard input closes.
"""
import argparse
import asyncio
import os
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Keeper:
    def __init__(self, directory, refuse, delay):
        self.directory = directory
        self.refuse = refuse
        self.delay = delay
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 try again later (test refusal)"
            self.count += 1
            n = self.count
        rcpt = ", ".join(envelope.rcpt_tos)
        data = b"X-Sink-Rcpt: " + rcpt.encode() + b"\r\n" + envelope.original_content
        path = os.path.join(self.directory, f"{n:05d}.eml")
        partial = path + ".partial"
        with open(partial, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(partial, path)
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        return "250 2.0.0 kept"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    parser.add_argument("--refuse", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == args.user
            and auth_data.password.decode() == args.password
        )
        return AuthResult(success=ok)

    keeper = Keeper(args.dir, args.refuse, args.delay)
    options = {}
    if args.user:
        options = dict(
            authenticator=authenticate, auth_required=True, auth_require_tls=False
        )
    controller = Controller(keeper, hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    controller.stop()


if __name__ == "__main__":
    main()
