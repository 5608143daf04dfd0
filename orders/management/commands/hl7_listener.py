import asyncio
import os
import signal
import socket

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from orders.intake.hl7.listener import listener_run


class Command(BaseCommand):
    help = ("Receive HL7 v2 ORM^O01 orders over MLLP and answer each with an ACK after it is stored "
            "and processed. Stops gracefully on SIGTERM/SIGINT (messages in progress are finished).")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None,
                            help=f"TCP port (default IRIS_HL7_PORT, {settings.IRIS_HL7_PORT}); 0 picks a free one")
        parser.add_argument("--workers", type=int, default=None,
                            help="threads processing messages, per process (default IRIS_HL7_WORKERS or 8)")
        parser.add_argument("--processes", type=int, default=None,
                            help="listener processes sharing the port (default IRIS_HL7_PROCESSES or 1); "
                                 "one process is bound by one interpreter lock, so use one per core")

    def handle(self, *args, **options):
        port = settings.IRIS_HL7_PORT if options["port"] is None else options["port"]
        processes = options["processes"] or getattr(settings, "IRIS_HL7_PROCESSES", 1)
        if processes < 1:
            raise CommandError("--processes: must be at least 1")
        if processes == 1:
            asyncio.run(self._run(options["host"], port, options["workers"]))
            return
        self._supervise(options["host"], port, options["workers"], processes)

    async def _run(self, host: str, port: int, workers: int | None, *, sock=None, announce: bool = True) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        def ready(address):
            if announce:
                self.stdout.write(f"HL7 listener on {address[0]}:{address[1]}")
                self.stdout.flush()

        await listener_run(host=host, port=port, stop=stop, ready=ready, workers=workers, sock=sock)
        if announce:
            self.stdout.write("HL7 listener stopped")

    def _supervise(self, host: str, port: int, workers: int | None, processes: int) -> None:
        """Bind once, fork ``processes`` listeners that accept on the same socket (the kernel
        spreads connections), restart one that dies, and pass SIGTERM/SIGINT on to all."""
        sock = socket.create_server((host, port), backlog=1024)
        sock.set_inheritable(True)
        connections.close_all()  # children open their own database connections
        children: set[int] = set()
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True
            for pid in list(children):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass

        def spawn() -> int:
            pid = os.fork()
            if pid == 0:  # the child: one asyncio listener on the shared socket
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                code = 0
                try:
                    asyncio.run(self._run(host, port, workers, sock=sock, announce=False))
                except BaseException:  # noqa: BLE001 - the supervisor restarts it
                    code = 1
                finally:
                    os._exit(code)
            children.add(pid)
            return pid

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        for _ in range(processes):
            spawn()
        address = sock.getsockname()
        self.stdout.write(f"HL7 listener on {address[0]}:{address[1]} ({processes} processes)")
        self.stdout.flush()
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            children.discard(pid)
            if not stopping:
                self.stderr.write(f"HL7 listener process {pid} ended (status {status}); started {spawn()} instead")
        sock.close()
        self.stdout.write("HL7 listener stopped")
