#!/usr/bin/env python3
"""A loopback TCP proxy that tests can cut and restore, to make a server (PostgreSQL)
unreachable and reachable again without stopping it.

    tcp_proxy.py TARGET_PORT

Listens on a free 127.0.0.1 port and prints it on the first line of stdout. SIGUSR1
cuts: every open connection is reset, and so is every new one as soon as it is
accepted (the port stays bound: closed, it could be taken by another program's
connection before the restore, as happened in CI, and the proxy would never listen
again). SIGHUP freezes: the connections stay open but nothing more is passed on, either
way (a peer that stops answering mid-call). SIGUSR2 restores both. SIGTERM ends it.
Only 127.0.0.1 is ever targeted.
"""
import asyncio
import signal
import socket
import sys

from parent_watch import exit_with_parent


async def main(target_port: int) -> None:
    connections: set[asyncio.StreamWriter] = set()
    # Counts cuts: a connection accepted before a cut whose upstream connect finishes
    # after it would otherwise outlive the cut.
    cuts = 0
    # Cleared while frozen: what is read waits here instead of being passed on.
    flowing = asyncio.Event()
    flowing.set()
    cut_off = False

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                await flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    def reset(writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()

    async def handle(client_reader, client_writer):
        if cut_off:
            reset(client_writer)
            return
        cuts_at_accept = cuts
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            reset(client_writer)
            return
        if cuts != cuts_at_accept:
            reset(client_writer)
            reset(upstream_writer)
            return
        connections.update([client_writer, upstream_writer])
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
        connections.difference_update([client_writer, upstream_writer])

    def restore():
        nonlocal cut_off
        flowing.set()
        cut_off = False

    def cut():
        nonlocal cuts, cut_off
        cuts += 1
        cut_off = True
        for writer in list(connections):
            reset(writer)
        connections.clear()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR1, cut)
    loop.add_signal_handler(signal.SIGUSR2, restore)
    loop.add_signal_handler(signal.SIGHUP, flowing.clear)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


if __name__ == "__main__":
    exit_with_parent()
    # A parent may have started us with these signals blocked (the mask is inherited).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGTERM})
    asyncio.run(main(int(sys.argv[1])))
