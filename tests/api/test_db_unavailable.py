"""With the database stopped, each surface answers 503 with ``Retry-After`` in its own error
shape (creates and reads), ``/readyz`` says not ready and ``/healthz`` still answers; once the
database is back, the same app serves again without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.apps import InProcessApp, running_app
from tests.support.pg_instance import PgInstance, pg_instance

pytestmark = pytest.mark.postgres

BODY = {"prompt": "a lighthouse at dusk", "seconds": "4", "size": "1280x720"}
SEED = "/vendors/openai/v1/sora/generation"


@pytest.fixture
def pg() -> Iterator[PgInstance]:
    with pg_instance() as instance:
        yield instance


@pytest.fixture
def app(pg: PgInstance, tmp_path: Path) -> Iterator[InProcessApp]:
    with running_app(tmp_path / "data", database_url=pg.url) as served:
        yield served


def test_both_surfaces_answer_503_with_retry_after_then_recover(
    pg: PgInstance, app: InProcessApp
) -> None:
    with app.client() as client:
        created = client.post("/v1/videos", json=BODY)
        assert created.status_code == 200, created.text
        video_id = created.json()["id"]
        pg.stop("immediate")

        for method, path in (
            ("POST", "/v1/videos"),
            ("GET", f"/v1/videos/{video_id}"),
            ("GET", "/v1/videos"),
        ):
            answer = client.request(method, path, json=BODY if method == "POST" else None)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["retry-after"] == "2"
            error = answer.json()["error"]
            assert error["code"] == "database_unavailable" and error["type"] == "server_error"
            assert "retry" in error["message"]

        answer = client.post(SEED, json=BODY)
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "2"
        body = answer.json()
        assert (body["status"], body["error_code"], body["instance"]) == (503, 5003, SEED)
        assert body["title"] == "Service Unavailable"

        assert client.get("/healthz").status_code == 200
        readiness = client.get("/readyz")
        assert readiness.status_code == 503 and readiness.json()["database"] == "unreachable"

        pg.start()
        assert client.get("/readyz").status_code == 200
        assert client.get(f"/v1/videos/{video_id}").status_code == 200
        assert client.post(SEED, json=BODY).status_code == 202
