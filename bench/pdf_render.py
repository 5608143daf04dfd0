"""PDF report rendering: median ms per 1-page report with two 1.2 MP JPEGs, through the portal's
pipeline (template fill, metadata, page setup, guarded URL fetcher) against bare WeasyPrint on the
very same HTML, interleaved in one run; then throughput with two worker processes. No database:
the OrderResult is the editor's sample order, the images are files in a temporary MEDIA_ROOT.
Targets (issue 7): pipeline <= 1.3x bare, >= 12 reports/s with two workers.

Wall-clock numbers suffer when other work shares the CPU, so CPU time per report (process time)
is measured too, and the two-worker rate is also given as what the workers' CPU time allows
(2 / CPU seconds per report): that is the rate of an otherwise idle 2-core machine.

    .venv/bin/python bench/pdf_render.py [--reports 40] [--throughput-seconds 20]
"""
import argparse
import io
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
MEDIA = Path(tempfile.mkdtemp(prefix="iris-bench-pdf-"))
os.environ["MEDIA_ROOT"] = str(MEDIA)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iris_portal.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from _setup import machine  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from PIL import Image  # noqa: E402

from delivery.results.pdf import html_to_pdf  # noqa: E402
from delivery.results.report import DEFAULT_DISCLAIMER, report_html  # noqa: E402
from delivery.results.report_data import Picture  # noqa: E402
from delivery.results.sample import fundus_jpeg, sample_report  # noqa: E402
from delivery.results.templates import builtin_template  # noqa: E402

SIZE = (1280, 960)  # 1.23 megapixels


def photo_jpeg(side: str) -> bytes:
    """A synthetic fundus photograph with sensor-like noise, so it compresses like a real one."""
    base = Image.open(io.BytesIO(fundus_jpeg(side, SIZE, seed=11)))
    noise = Image.effect_noise(SIZE, 28).convert("RGB")
    buffer = io.BytesIO()
    Image.blend(base, noise, 0.12).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def prepare():
    pictures = {}
    for side in ("OD", "OS"):
        name = default_storage.save(f"images/bench/{side.lower()}.jpg", ContentFile(photo_jpeg(side)))
        pictures[side] = Picture("image/jpeg", storage_name=name)
    sample = sample_report("DR", disclaimer=DEFAULT_DISCLAIMER, organization_name="Bench Health")
    from dataclasses import replace

    return replace(sample, pictures=pictures), builtin_template("DR")


def render_pipeline(report, template) -> bytes:
    return html_to_pdf(report_html(report, template, embed_images=False))


def render_bare(html: str) -> bytes:
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()


def _timed(render) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    render()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def latency(count: int):
    report, template = prepare()
    html = report_html(report, template, embed_images=False)
    for _ in range(3):  # warm-up: fonts, caches
        render_pipeline(report, template), render_bare(html)
    pipeline, bare = [], []
    for _ in range(count):  # interleaved, so both see the same machine
        pipeline.append(_timed(lambda: render_pipeline(report, template)))
        bare.append(_timed(lambda: render_bare(html)))
    from pypdf import PdfReader

    pdf = render_pipeline(report, template)
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    sizes = [default_storage.size(p.storage_name) for p in report.pictures.values()]
    return pipeline, bare, pages, len(pdf), sizes


def _worker(barrier, seconds: float, out):
    report, template = prepare()
    for _ in range(2):
        render_pipeline(report, template)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    barrier.wait()
    done, deadline, cpu = 0, time.perf_counter() + seconds, time.process_time()
    while time.perf_counter() < deadline:
        render_pipeline(report, template)
        done += 1
    cpu = time.process_time() - cpu
    growth_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    out.put((done, cpu, growth_kb))


def throughput(workers: int, seconds: float):
    context = mp.get_context("fork")
    barrier, out = context.Barrier(workers + 1), context.Queue()
    processes = [context.Process(target=_worker, args=(barrier, seconds, out)) for _ in range(workers)]
    for process in processes:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    results = [out.get() for _ in processes]
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
    total = sum(done for done, _, _ in results)
    cpu_per_report = sum(cpu for _, cpu, _ in results) / max(total, 1)
    return total / elapsed, total, cpu_per_report, [growth for _, _, growth in results]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=40, help="reports per variant for the latency run")
    parser.add_argument("--throughput-seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    pipeline, bare, pages, pdf_bytes, sizes = latency(args.reports)

    def med(rows, index):
        return statistics.median(row[index] for row in rows)

    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.2f} before the run")
    print(f"images: 2 x {SIZE[0]}x{SIZE[1]} JPEG ({', '.join(f'{s // 1024} KB' for s in sizes)}); "
          f"report: {pages} page(s), {pdf_bytes // 1024} KB; {args.reports} renders each, interleaved")
    def best(rows, index):
        return min(row[index] for row in rows)

    print(f"pipeline:             median {med(pipeline, 0):.1f} ms wall, {med(pipeline, 1):.1f} ms CPU "
          f"(best {best(pipeline, 0):.1f} ms wall)")
    print(f"bare WeasyPrint, same HTML: median {med(bare, 0):.1f} ms wall, {med(bare, 1):.1f} ms CPU "
          f"(best {best(bare, 0):.1f} ms wall)")
    print(f"ratio pipeline/bare: {med(pipeline, 0) / med(bare, 0):.2f}x wall, "
          f"{med(pipeline, 1) / med(bare, 1):.2f}x CPU (target <= 1.3x)")
    rate, total, cpu_per_report, growth = throughput(args.workers, args.throughput_seconds)
    print(f"throughput, {args.workers} worker processes: {rate:.1f} reports/s measured ({total} in "
          f"{args.throughput_seconds:.0f} s), {args.workers / cpu_per_report:.1f} reports/s by CPU time "
          f"({cpu_per_report * 1000:.0f} ms CPU per report) (target >= 12)")
    print(f"max RSS growth per worker: {', '.join(f'{g / 1024:.1f} MB' for g in growth)} "
          f"over ~{total // args.workers} renders; load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
