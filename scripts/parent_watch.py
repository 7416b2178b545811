"""Ends a helper server when the process that started it is gone.

The tests start the servers they talk to (provider and SMTP sinks, the TCP proxy, moto,
the token endpoint) as child processes. A test process that crashed left them running:
they held its output pipe open, so `swift test` waited for their end (the proxy's never
came), and they kept their ports and their CPU. A daemon thread checks every second
whether the parent has changed (the child was handed to another reaper) and ends the
process at once.
"""
import os
import threading
import time


def exit_with_parent() -> None:
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
