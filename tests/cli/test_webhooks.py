"""``reelforge webhooks``: register, list (with an endpoint a 410 disabled), enable, inspect
deliveries, replay, read the key's secret; every mistake is one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelforge.core.config import Settings
from reelforge.core.runtime import Runtime
from reelforge.domain.specs import GenerationSpec
from reelforge.notify.dispatcher import WebhookDispatcher
from reelforge.notify.sender import WebhookSender
from reelforge.notify.urls import WebhookUrlPolicy
from tests.support.cli import run_main
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "REELFORGE_DATA_DIR": str(tmp_path / "data"),
        "REELFORGE_WEBHOOK_ALLOW_PRIVATE": '["127.0.0.1/32"]',
        "COLUMNS": "250",
    }


def make_key(env: dict[str, str], name: str = "ci") -> str:
    created = run_main("keys", "create", "--name", name, env=env)
    assert created.code == 0, created.stderr
    return created.stderr.split("created key ")[1].split(" ")[0]


def test_add_list_deliveries_remove_replay(env: dict[str, str], tmp_path: Path) -> None:
    key_id = make_key(env)
    added = run_main(
        "webhooks", "add", "http://127.0.0.1:9/in", "--key", "ci", "--events",
        "video.queued,video.completed", "--name", "local receiver", env=env,
    )  # fmt: skip
    assert added.code == 0, added.stderr
    assert added.stdout.startswith("whsec_") and len(added.stdout.strip()) == 50
    endpoint_id = added.stderr.split("added webhook endpoint ")[1].split(" ")[0]
    listed = run_main("webhooks", "list", "--key", key_id, env=env)
    assert endpoint_id in listed.stdout and "video.queued, video.completed" in listed.stdout
    assert added.stdout.strip() not in listed.stdout  # the secret is never shown again

    runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
    try:
        runtime.database.enqueue(GenerationSpec.build("a kite", seconds=4), key_id)
        [delivery] = runtime.webhooks.deliveries.list_deliveries()
    finally:
        runtime.close()
    pending = run_main("webhooks", "deliveries", "--status", "pending", env=env)
    assert delivery.id in pending.stdout and "video.queued" in pending.stdout
    not_failed = run_main("webhooks", "replay", delivery.id, env=env)
    not_failed.assert_one_error_line("is pending; only a failed delivery is replayed")

    removed = run_main("webhooks", "remove", endpoint_id, env=env)
    assert removed.code == 0 and "removed webhook endpoint" in removed.stdout
    failed = run_main("webhooks", "deliveries", "--status", "failed", env=env)
    assert delivery.id in failed.stdout and "endpoint deleted" in failed.stdout
    replayed = run_main("webhooks", "replay", delivery.id, env=env)
    assert replayed.code == 0, replayed.stderr
    assert delivery.id in run_main("webhooks", "deliveries", "--status", "pending", env=env).stdout


def test_the_keys_own_secret_is_stable(env: dict[str, str]) -> None:
    make_key(env, "app")
    first = run_main("webhooks", "secret", "--key", "app", env=env)
    assert first.code == 0 and first.stdout.startswith("whsec_")
    assert run_main("webhooks", "secret", "--key", "app", env=env).stdout == first.stdout


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["add", "http://10.0.0.1/in", "--key", "ci"], "10.0.0.1 is private (10.0.0.0/8)"),
        (["add", "ftp://example.com/in", "--key", "ci"], "URL uses ftp:"),
        (["add", "http://127.0.0.1:9/", "--key", "nobody"], "no active API key with id or name"),
        (["add", "http://127.0.0.1:9/", "--key", "ci", "--events", "video.done"], "'video.done'"),
        (["remove", "we_missing"], "no webhook endpoint 'we_missing'"),
        (["enable", "we_missing"], "no webhook endpoint 'we_missing'"),
        (["replay", "dlv_missing"], "no delivery 'dlv_missing'"),
        (["deliveries", "--status", "lost"], "--status 'lost' is not a state"),
    ],
)
def test_mistakes_are_one_error_line(env: dict[str, str], args: list[str], fragment: str) -> None:
    make_key(env)
    outcome = run_main("webhooks", *args, env=env)
    assert outcome.code in (1, 2) and "Traceback" not in outcome.stderr
    [line] = outcome.error_lines
    assert line.startswith("error: ") and fragment in line, line


def test_list_shows_a_disabled_endpoint_and_enable_clears_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    make_key(env)
    with WebhookReceiver() as receiver:
        receiver.answers = [(410, {})]
        added = run_main(
            "webhooks", "add", receiver.url, "--key", "ci", "--events", "video.queued", env=env
        )
        endpoint_id = added.stderr.split("added webhook endpoint ")[1].split(" ")[0]
        runtime = Runtime.open(Settings(data_dir=tmp_path / "data"))
        try:
            key_id = runtime.webhooks.get_endpoint(None, endpoint_id).owner
            runtime.database.enqueue(GenerationSpec.build("a dune", seconds=4), key_id)
            policy = WebhookUrlPolicy(["127.0.0.1/32"])
            dispatcher = WebhookDispatcher(runtime, WebhookSender(policy, 5.0), threads=1)
            assert dispatcher.dispatch_once() == 1
            policy.close()
        finally:
            runtime.close()
    listed = run_main("webhooks", "list", env=env)
    assert "disabled: the receiver answered 410 Gone at" in listed.stdout, listed.stdout
    enabled = run_main("webhooks", "enable", endpoint_id, env=env)
    assert enabled.code == 0 and f"webhook endpoint {endpoint_id} is enabled" in enabled.stdout
    listed = run_main("webhooks", "list", env=env)
    assert "enabled" in listed.stdout and "disabled" not in listed.stdout
