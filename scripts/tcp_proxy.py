#!/usr/bin/env python3
"""A loopback TCP proxy that tests can cut and restore, to make a server (PostgreSQL)
unreachable and reachable again without stopping it.

    tcp_proxy.py TARGET_PORT

Listens on a free 127.0.0.1 port and prints it on the first line of stdout. SIGUSR1
cuts: every open connection is reset and new ones are refused. SIGHUP freezes: the
connections stay open but nothing more is passed on, either way (a peer that stops
answering mid-call). SIGUSR2 restores both. SIGTERM ends it. Only 127.0.0.1 is ever
targeted.
"""
import asyncio
import signal
import socket
import sys

from parent_watch import exit_with_parent


async def main(target_port: int) -> None:
    connections: set[asyncio.StreamWriter] = set()
    server = None
    port = 0
    # Counts cuts: a connection accepted before a cut whose upstream connect finishes
    # after it would otherwise outlive the cut.
    cuts = 0
    # Cleared while frozen: what is read waits here instead of being passed on.
    flowing = asyncio.Event()
    flowing.set()
    listening = False

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

    async def listen():
        nonlocal server, port, listening
        server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)
        port = server.sockets[0].getsockname()[1]
        listening = True

    def restore():
        flowing.set()
        if not listening:
            asyncio.ensure_future(listen())

    def cut():
        nonlocal cuts, listening
        cuts += 1
        listening = False
        server.close()
        for writer in list(connections):
            reset(writer)
        connections.clear()

    await listen()
    print(port, flush=True)
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
