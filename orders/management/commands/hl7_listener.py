import asyncio
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from orders.intake.hl7.listener import listener_run


class Command(BaseCommand):
    help = ("Receive HL7 v2 ORM^O01 orders over MLLP and answer each with an ACK after it is stored "
            "and processed. Stops gracefully on SIGTERM/SIGINT (messages in progress are finished).")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None,
                            help=f"TCP port (default IRIS_HL7_PORT, {settings.IRIS_HL7_PORT}); 0 picks a free one")
        parser.add_argument("--workers", type=int, default=None,
                            help="threads processing messages (default IRIS_HL7_WORKERS or 8)")

    def handle(self, *args, **options):
        port = settings.IRIS_HL7_PORT if options["port"] is None else options["port"]
        asyncio.run(self._run(options["host"], port, options["workers"]))

    async def _run(self, host: str, port: int, workers: int | None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        def ready(address):
            self.stdout.write(f"HL7 listener on {address[0]}:{address[1]}")
            self.stdout.flush()

        await listener_run(host=host, port=port, stop=stop, ready=ready, workers=workers)
        self.stdout.write("HL7 listener stopped")
