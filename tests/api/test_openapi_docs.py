"""The API reference is complete and works offline.

``/openapi.json`` is walked whole: every operation has a summary, a description and a declared
tag; every parameter and every schema field (of the components and of the inline bodies) has a
description and an example; each schema says what it is. ``/docs`` and ``/redoc`` load their
scripts and styles from this server only (the browser test renders them with the network
blocked).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from reelforge.api.app import create_app
from reelforge.api.docs_routes import EVENTS_TAG, OPENAI_TAG, SEED_TAG
from tests.support.settings import fast_settings

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
Schema = dict[str, Any]


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app without its lifespan: the reference pages need no database or worker."""
    app = create_app(fast_settings(tmp_path_factory.mktemp("docs") / "data"))
    client = TestClient(app)  # not entered: no lifespan
    yield client
    client.close()


@pytest.fixture(scope="module")
def document(http: TestClient) -> Schema:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    schema: Schema = response.json()
    return schema


def operations(document: Schema) -> Iterator[tuple[str, Schema]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield f"{method.upper()} {path}", item[method]


# -- operations -----------------------------------------------------------------------------------


def test_every_operation_has_a_summary_a_description_and_a_declared_tag(
    document: Schema,
) -> None:
    declared = {tag["name"] for tag in document["tags"]}
    wrong = {
        name: problem
        for name, operation in operations(document)
        for problem in _operation_problems(operation, declared)
    }
    assert not wrong


def _operation_problems(operation: Schema, declared: set[str]) -> Iterator[str]:
    for field in ("summary", "description"):
        if len(operation.get(field, "").strip()) < 10:
            yield f"no {field}"
    tags = operation.get("tags", [])
    if len(tags) != 1 or tags[0] not in declared:
        yield f"tags {tags}: want one of {sorted(declared)}"


def test_every_tag_is_described_and_used(document: Schema) -> None:
    used = {tag for _, operation in operations(document) for tag in operation["tags"]}
    for tag in document["tags"]:
        assert len(tag.get("description", "")) > 20, tag
        assert tag["name"] in used, f"tag {tag['name']} has no operation"


def test_every_parameter_has_a_description_and_an_example(document: Schema) -> None:
    wrong = [
        f"{name} {parameter['in']} {parameter['name']}"
        for name, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("description") or not _has_example(parameter["schema"], parameter)
    ]
    assert not wrong


def test_the_two_surfaces_and_the_event_streams_are_tagged_apart(document: Schema) -> None:
    for name, operation in operations(document):
        path = name.split(" ", 1)[1]
        if path.endswith("/events"):
            expected = EVENTS_TAG
        elif path.startswith(("/vendors/", "/files/")):
            expected = SEED_TAG
        elif path.startswith("/v1/videos"):
            expected = OPENAI_TAG
        else:
            continue
        assert operation["tags"] == [expected], name


# -- schemas --------------------------------------------------------------------------------------


def test_every_schema_says_what_it_is(document: Schema) -> None:
    undescribed = [
        name
        for name, schema in document["components"]["schemas"].items()
        if len(schema.get("description", "").strip()) < 10
    ]
    assert not undescribed


def test_every_schema_field_has_a_description_and_an_example(document: Schema) -> None:
    """Components and the inline schemas of bodies (the multipart create, an event of a
    stream). A field whose value is another schema (a ``$ref``, or a list of them) needs no
    example of its own: that schema's fields have theirs; nor does an uploaded file (``format:
    binary``), whose bytes JSON cannot hold."""
    wrong = [
        f"{owner}.{field}: {problem}"
        for owner, schema in _all_schemas(document)
        for field, value in schema.get("properties", {}).items()
        for problem in _field_problems(value)
    ]
    assert not wrong


def _field_problems(field: Schema) -> Iterator[str]:
    if len(field.get("description", "").strip()) < 3:
        yield "no description"
    if not _is_reference(field) and field.get("format") != "binary" and not _has_example(field):
        yield "no example"


def _is_reference(field: Schema) -> bool:
    branches = [b for b in field.get("anyOf", [field]) if b != {"type": "null"}]
    return all("$ref" in b or "$ref" in b.get("items", {}) for b in branches)


def _has_example(schema: Schema, outer: Schema | None = None) -> bool:
    places = [schema, outer or {}] + [b for b in schema.get("anyOf", []) if isinstance(b, dict)]
    return any("example" in place or "examples" in place for place in places)


def _all_schemas(document: Schema) -> Iterator[tuple[str, Schema]]:
    yield from document["components"]["schemas"].items()
    for name, operation in operations(document):
        bodies = [operation.get("requestBody", {}), *operation["responses"].values()]
        for body in bodies:
            for media_type, content in body.get("content", {}).items():
                schema = content.get("schema", {})
                if "properties" in schema:
                    yield f"{name} {media_type}", schema


def test_component_examples_are_valid_json_values(document: Schema) -> None:
    """OpenAPI 3.1 puts ``examples`` as a list on a schema; one given as a bare value would be
    read as a list of characters by the tools."""
    for owner, schema in _all_schemas(document):
        for field, value in schema.get("properties", {}).items():
            if "examples" in value:
                assert isinstance(value["examples"], list), f"{owner}.{field}"


# -- the pages ------------------------------------------------------------------------------------

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
EXTERNAL = re.compile(r"""https?://""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_reference_pages_load_only_local_assets(http: TestClient, page: str) -> None:
    response = http.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert not EXTERNAL.search(response.text), "the page must not reach the internet"
    # Nor may what its scripts add (ReDoc's footer asks a CDN for a logo): the browser stops it.
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert not EXTERNAL.search(policy)
    assets = ASSET.findall(response.text)
    assert any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        served = http.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset
        assert served.headers["etag"]  # revalidated, never downloaded again unchanged
    assert "/openapi.json" in response.text


def test_the_swagger_page_asks_no_online_validator(http: TestClient) -> None:
    """Swagger UI's default shows a badge fetched from validator.swagger.io."""
    assert '"validatorUrl": null' in http.get("/docs").text


def test_the_pages_follow_a_proxy_prefix(tmp_path: Path) -> None:
    """Behind a proxy that serves the app under /api (``--root-path``), the page's links
    carry the prefix, or the browser would ask the proxy for paths it does not route."""
    app = create_app(fast_settings(tmp_path / "data"))
    page = TestClient(app, root_path="/api").get("/docs").text
    assert "/api/docs/assets/swagger-ui-bundle.js" in page and "'/api/openapi.json'" in page


def test_fastapi_s_cdn_pages_are_off(tmp_path: Path) -> None:
    """FastAPI's own pages load from a CDN; were they on, theirs would answer first."""
    app = create_app(fast_settings(tmp_path / "data"))
    assert app.docs_url is None and app.redoc_url is None
