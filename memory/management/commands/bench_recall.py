import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from memory.benchmark import (
    DatasetError,
    RecallReport,
    bench_vendors_delete,
    load_samples,
    run_sample,
)


def _int_list(raw: str) -> list[int]:
    try:
        values = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise CommandError(f"Expected comma-separated integers, got {raw!r}.") from None
    if not values or values[0] < 1:
        raise CommandError("k values must be positive integers.")
    return values


class Command(BaseCommand):
    help = "Measure retrieval recall@k on a LoCoMo-format file through the real memory paths."
    requires_migrations_checks = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data", required=True, type=Path, help="LoCoMo-format JSON file.")
        parser.add_argument("--k", default="1,5,10,20", help="Comma-separated k values.")
        parser.add_argument(
            "--exclude-category",
            action="append",
            type=int,
            default=None,
            help="Question category to leave out (repeatable). Default: none.",
        )
        parser.add_argument("--limit-samples", type=int, default=None, help="Only the first N.")
        parser.add_argument("--json", type=Path, default=None, help="Also write results here.")

    def handle(self, *args: Any, **options: Any) -> None:
        ks = _int_list(options["k"])
        path: Path = options["data"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            raw = json.loads(path.read_text())
            samples = load_samples(raw, exclude_categories=set(options["exclude_category"] or []))
        except (json.JSONDecodeError, DatasetError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        if options["limit_samples"] is not None:
            samples = samples[: options["limit_samples"]]

        leftovers = bench_vendors_delete()
        if leftovers:
            self.stderr.write(f"Removed {leftovers} rows left by an interrupted run.")
        report = RecallReport(ks=ks)
        total = sum(len(sample.questions) for sample in samples)
        with tqdm(total=total, unit="q", desc="questions", file=self.stderr) as progress:
            for sample in samples:
                progress.set_postfix_str(f"importing {sample.sample_id}")
                run_sample(sample, report, on_question=lambda: progress.update(1))
        result = report.as_json()
        self._print_table(result, ks)
        if options["json"]:
            options["json"].write_text(json.dumps(result, indent=2) + "\n")
            self.stdout.write(f"Wrote {options['json']}")

    def _print_table(self, result: dict[str, Any], ks: list[int]) -> None:
        header = f"{'category':<10}{'n':>6}" + "".join(f"{'R@' + str(k):>8}" for k in ks)
        self.stdout.write(header)
        rows = [("all", result["questions"], result["recall"])] + [
            (category, stats["n"], stats["recall"])
            for category, stats in result["per_category"].items()
        ]
        for name, n, recall in rows:
            cells = "".join(f"{recall[str(k)]:>8.3f}" for k in ks)
            self.stdout.write(f"{name:<10}{n:>6}{cells}")
        self.stdout.write(
            f"search latency p50 {result['latency_ms']['p50']} ms, "
            f"p95 {result['latency_ms']['p95']} ms; "
            f"context tokens mean {result['context_tokens']['mean']} "
            f"(full history {result['context_tokens']['baseline_mean']}); "
            f"ingest {result['ingest_messages_per_s']} messages/s"
        )
