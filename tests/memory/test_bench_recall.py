import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenants.models import Vendor

pytestmark = pytest.mark.django_db(transaction=True)

TINY_LOCOMO = [
    {
        "sample_id": "tiny",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a puppy named Miso!"},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Congrats! I started pottery."},
                {
                    "speaker": "Ana",
                    "dia_id": "D1:3",
                    "text": "My job at the bakery is tiring.",
                    "blip_caption": "a photo of bread loaves",
                },
            ],
            "session_2_date_time": "10:00 am on 20 June, 2023",
            "session_2": [
                {"speaker": "Ben", "dia_id": "D2:1", "text": "I finished my first clay vase."},
                {"speaker": "Ana", "dia_id": "D2:2", "text": "Miso chewed my shoes, ha."},
            ],
        },
        "qa": [
            {
                "question": "What is Ana's puppy called?",
                "answer": "Miso",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {
                "question": "What hobby did Ben start?",
                "answer": "pottery",
                "evidence": ["D1:2", "D2:1"],
                "category": 1,
            },
            {"question": "Unanswerable trap", "answer": "", "evidence": ["D1:3"], "category": 5},
        ],
    }
]


def test_bench_recall_measures_recall_and_cleans_up(tmp_path: Path) -> None:
    data = tmp_path / "tiny.json"
    data.write_text(json.dumps(TINY_LOCOMO))
    out = tmp_path / "out.json"

    call_command(
        "bench_recall",
        "--data",
        str(data),
        "--k",
        "1,5",
        "--exclude-category",
        "5",
        "--json",
        str(out),
        stdout=StringIO(),
        stderr=StringIO(),
    )

    result = json.loads(out.read_text())
    assert result["questions"] == 2
    assert set(result["per_category"]) == {"1", "4"}
    assert result["recall"]["5"] == 1.0  # five turns in all: everything is in the top 5
    assert 0 < result["recall"]["1"] <= 1.0
    assert result["latency_ms"]["p50"] > 0
    assert result["context_tokens"]["mean"] > 0
    assert result["ingest_messages_per_s"] > 0
    assert not Vendor.objects.filter(slug__startswith="bench-recall-").exists()


def test_bench_recall_refuses_a_file_that_is_not_locomo(tmp_path: Path) -> None:
    data = tmp_path / "bad.json"
    data.write_text(json.dumps({"not": "a list"}))

    with pytest.raises(CommandError, match="list of samples"):
        call_command("bench_recall", "--data", str(data), stdout=StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("bench_recall", "--data", str(tmp_path / "missing.json"), stdout=StringIO())
    with pytest.raises(CommandError, match="integers"):
        call_command("bench_recall", "--data", str(data), "--k", "a,b", stdout=StringIO())
