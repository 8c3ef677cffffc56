"""Errors, as an MCP client sees them: HTTP 401 with a challenge for a bad key, tool errors with
the REST envelope (validation naming the field, the credit cap, foreign IDs, `source_managed`),
and JSON-RPC errors for what is not a tool call at all (an unknown tool)."""

from __future__ import annotations

import subprocess

import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from conftest import TOME, World, make_kb, mcp_errors, unique

pytestmark = pytest.mark.anyio


def initialize_body(revision: str) -> dict:
    if revision == "2025-11-25":
        return {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": revision,
                "capabilities": {},
                "clientInfo": {"name": "pytest", "version": "0"},
            },
        }
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/list",
        "params": {
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": revision,
                "io.modelcontextprotocol/clientCapabilities": {},
            }
        },
    }


@pytest.mark.parametrize("revision", ["2025-11-25", "2026-07-28"])
@pytest.mark.parametrize(
    "key", [None, "tome_not-a-real-key", "Basic"], ids=["no-key", "bad-key", "not-bearer"]
)
def test_bad_key_is_401_with_a_challenge(world: World, revision: str, key: str | None) -> None:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": revision,
    }
    if key == "Basic":
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    elif key:
        headers["Authorization"] = f"Bearer {key}"
    resp = world.server.post("/mcp", json=initialize_body(revision), headers=headers)
    assert resp.status_code == 401, resp.text
    challenge = resp.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer "), challenge
    assert f'resource_metadata="{world.server.base}/.well-known/oauth-protected-resource"' in challenge
    assert resp.json()["error"]["code"] == "unauthorized"

    # The metadata the challenge points to says /mcp takes bearer tokens in the header.
    meta = world.server.get("/.well-known/oauth-protected-resource").json()
    assert meta["resource"] == f"{world.server.base}/mcp"
    assert meta["bearer_methods_supported"] == ["header"]


async def test_bad_key_through_the_sdk(world: World, http_kind: tuple[str, str]) -> None:
    """The SDK sees the 401 on its first request and does not connect."""
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    async with httpx2.AsyncClient(
        headers={"Authorization": "Bearer tome_revoked-or-made-up"},
        event_hooks={"response": [record]},
    ) as http:
        with pytest.raises((MCPError, BaseExceptionGroup)) as caught:
            async with world.connect(http_kind, http_client=http):
                pass
    assert mcp_errors(caught.value), caught.value
    assert statuses and set(statuses) == {401}, statuses


def test_stdio_refuses_a_bad_key(world: World) -> None:
    out = subprocess.run(
        [str(TOME), *world.db.args(world.db.root / "stdio"), "mcp", "--key", "tome_not-a-real-key"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "key" in out.stderr.lower(), out.stderr


async def test_invalid_arguments_name_the_field(world: World, kind: tuple[str, str]) -> None:
    async with world.connect(kind) as mcp:
        kb_id, _, cat_id = await make_kb(mcp, prefix="invalid")

        too_long = await mcp.error(
            "create_article", kb_id=kb_id, category_id=cat_id, title="x" * 600, body="Body."
        )
        assert too_long["code"] == "validation_error", too_long
        assert too_long["details"]["field"] == "title", too_long

        # A required argument missing does not match the schema: a JSON-RPC error naming it.
        missing = await mcp.rpc_error("create_category", kb_id=kb_id)
        assert missing.code == INVALID_PARAMS
        assert missing.error.data["field"] == "name", missing.error

        bad_enum = await mcp.error(
            "create_article", kb_id=kb_id, category_id=cat_id, title="T", status="sideways"
        )
        assert bad_enum["details"]["field"] == "status", bad_enum

        in_bulk = await mcp.error(
            "bulk_create_articles",
            kb_id=kb_id,
            articles=[
                {"category_id": cat_id, "title": "Fine"},
                {"category_id": cat_id, "title": ""},
            ],
        )
        assert in_bulk["code"] == "validation_error"
        assert in_bulk["details"]["field"] == "articles[1].title", in_bulk
        # All or nothing: the valid one was not created either.
        listed = await mcp.ok("list_articles", kb_id=kb_id, status="draft,published")
        assert listed["data"] == []

        # Arguments the schema does not have, or a missing path parameter: invalid params.
        unknown = await mcp.rpc_error("create_category", kb_id=kb_id, name="N", colour="red")
        assert unknown.code == INVALID_PARAMS
        no_path = await mcp.rpc_error("get_category", kb_id=kb_id)
        assert no_path.code == INVALID_PARAMS
        # A value of the wrong JSON type does not match the schema either: a JSON-RPC error
        # naming its field (the rule: arguments not matching the schema are protocol
        # errors; rules within a type are the REST validation's tool errors).
        wrong_type = await mcp.rpc_error("create_category", kb_id=kb_id, name=["not", "a", "string"])
        assert wrong_type.code == INVALID_PARAMS
        assert wrong_type.error.data["field"] == "name", wrong_type.error
        # A query parameter out of its range is the REST validation error, naming it.
        limit = await mcp.error("list_articles", kb_id=kb_id, limit=1000)
        assert limit["code"] == "validation_error" and limit["details"]["field"] == "limit", limit


async def test_unknown_tool_is_a_json_rpc_error(world: World, kind: tuple[str, str]) -> None:
    async with world.connect(kind) as mcp:
        err = await mcp.rpc_error("make_coffee", size="large")
        assert err.code == INVALID_PARAMS, err
        assert "make_coffee" in err.error.message
        # The session goes on.
        await mcp.ok("get_project")


async def test_credit_cap(world: World, kind: tuple[str, str]) -> None:
    """At the project's cap, a tool that costs credits answers `spending_cap_exceeded`, as the
    REST API's 402; free tools still work."""
    project_id, key = world.db.project_with_key(unique("capped"), cap=4)
    async with world.connect(kind, key=key) as mcp:
        kb = await mcp.ok("create_knowledge_base", title="Capped", slug=unique("capped"))  # 3 of 4
        err = await mcp.error("create_category", kb_id=kb["id"], name="Two credits")
        assert err["code"] == "spending_cap_exceeded", err
        assert err["details"]["credit_cap"] == 4, err
        assert err["details"]["credits_used"] == 3, err
        usage = await mcp.ok("get_usage")
        assert usage["credits_used"] == 3 and usage["credit_cap"] == 4
        assert (await mcp.ok("get_project"))["id"] == project_id
        assert (await mcp.ok("list_categories", kb_id=kb["id"]))["data"] == []
        await mcp.ok("update_knowledge_base", kb_id=kb["id"], title="Still free")


async def test_foreign_ids_are_not_found(world: World, kind: tuple[str, str]) -> None:
    """Another project's key sees none of this project's data through the tools."""
    async with world.connect(kind) as owner:
        kb_id, slug, cat_id = await make_kb(owner, prefix="owned")
        art = await owner.ok(
            "create_article", kb_id=kb_id, category_id=cat_id, title="Private plans", status="published"
        )
        faq = await owner.ok("create_faq", kb_id=kb_id, category_id=cat_id, question="Q?", answer="A.")

    _, other_key = world.db.project_with_key(unique("other"))
    async with world.connect(kind, key=other_key) as other:
        calls = [
            ("get_knowledge_base", {"kb_id": kb_id}),
            ("update_knowledge_base", {"kb_id": kb_id, "title": "Mine now"}),
            ("get_category", {"kb_id": kb_id, "id": cat_id}),
            ("list_articles", {"kb_id": kb_id}),
            ("get_article", {"kb_id": kb_id, "id": art["id"]}),
            ("update_article", {"kb_id": kb_id, "id": art["id"], "title": "Defaced"}),
            ("archive_article", {"kb_id": kb_id, "id": art["id"]}),
            ("delete_article", {"kb_id": kb_id, "id": art["id"]}),
            ("get_faq", {"kb_id": kb_id, "id": faq["id"]}),
            ("create_article", {"kb_id": kb_id, "category_id": cat_id, "title": "Spam"}),
            ("search_articles", {"kb_id": kb_id, "q": "plans"}),
            ("revoke_site_key", {"kb_id": kb_id}),
            ("delete_knowledge_base", {"kb_id": kb_id}),
        ]
        for tool, args in calls:
            err = await other.error(tool, **args)
            assert err["code"].endswith("not_found"), (tool, err)
        assert (await other.ok("list_knowledge_bases", limit=100))["data"] == []
        search = await other.error("search_docs", domain=slug, query="plans")
        assert search["code"].endswith("not_found"), search

    async with world.connect(kind) as owner:
        still = await owner.ok("get_article", kb_id=kb_id, id=art["id"])
        assert still["title"] == "Private plans" and still["status"] == "published"
        await owner.ok("delete_knowledge_base", kb_id=kb_id)


async def test_source_managed(world: World, kind: tuple[str, str]) -> None:
    """A knowledge base with a source is written by its updates only: content tools answer
    `source_managed` (REST 409) until the source is removed."""
    async with world.connect(kind) as mcp:
        kb_id, _, cat_id = await make_kb(mcp, prefix="managed")
        art = await mcp.ok("create_article", kb_id=kb_id, category_id=cat_id, title="Before")
        # Setting a source fetches nothing: an update does, and none is started here. The
        # host is a reserved name (RFC 2606) that no fetch could reach anyway.
        source = await mcp.ok("set_source", kb_id=kb_id, url="https://git.example.invalid/acme/docs.git")
        assert source["url"] == "https://git.example.invalid/acme/docs.git"
        assert (await mcp.ok("get_source", kb_id=kb_id))["url"] == source["url"]

        for tool, args in [
            ("create_article", {"kb_id": kb_id, "category_id": cat_id, "title": "During"}),
            ("update_article", {"kb_id": kb_id, "id": art["id"], "title": "Edited"}),
            ("create_category", {"kb_id": kb_id, "name": "More"}),
            ("delete_article", {"kb_id": kb_id, "id": art["id"]}),
        ]:
            err = await mcp.error(tool, **args)
            assert err["code"] == "source_managed", (tool, err)
        # Reading is fine.
        assert (await mcp.ok("get_article", kb_id=kb_id, id=art["id"]))["title"] == "Before"

        assert await mcp.ok("delete_source", kb_id=kb_id) == {"deleted": True}
        await mcp.ok("update_article", kb_id=kb_id, id=art["id"], title="After")
        await mcp.ok("delete_knowledge_base", kb_id=kb_id)


def test_origin_of_another_site_is_refused(world: World) -> None:
    resp = world.server.post(
        "/mcp",
        json=initialize_body("2025-11-25"),
        headers={
            "Authorization": f"Bearer {world.key}",
            "Origin": "https://evil.example",
            "Accept": "application/json, text/event-stream",
        },
    )
    assert resp.status_code == 403, resp.text


async def test_jsonrpc_error_envelope_on_the_wire(world: World) -> None:
    """An unknown tool over raw HTTP: a JSON-RPC error object, not a tool result."""
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {
            "name": "make_coffee",
            "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    resp = world.server.post(
        "/mcp",
        json=body,
        headers={
            "Authorization": f"Bearer {world.key}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "make_coffee",
        },
    )
    payload = resp.json()
    assert "result" not in payload, payload
    assert payload["id"] == 7 and payload["error"]["code"] == INVALID_PARAMS, payload


async def test_assistant_key_gets_the_read_only_tools(world: World, kind: tuple[str, str]) -> None:
    """An assistant key (tome_dsc_…) sees only the documentation search and page."""
    async with world.connect(kind) as admin:
        kb_id, slug, cat_id = await make_kb(admin, prefix="assist")
        await admin.ok(
            "create_article",
            kb_id=kb_id,
            category_id=cat_id,
            title="Billing cycles",
            status="published",
            body="Invoices are sent on the first day of the month.",
        )
        project_id = (await admin.ok("get_project"))["id"]
    key = world.db.cli("key", "create", "--project", project_id, "--kind", "assistant")["key"]
    assert key.startswith("tome_dsc_")
    async with world.connect(kind, key=key) as mcp:
        assert set(await mcp.tools()) == {"search_docs", "get_page"}
        found = await mcp.ok("search_docs", domain=slug, query="invoices month")
        assert found["results"], found
        page = await mcp.ok("get_page", domain=slug, path=found["results"][0]["path"])
        assert "first day of the month" in str(page)
        err = await mcp.rpc_error("create_knowledge_base", title="No", slug=unique("no"))
        assert err.code == INVALID_PARAMS
        assert (await mcp.client.list_resources(cache_mode="bypass")).resources == []


def test_site_key_is_the_wrong_kind(world: World) -> None:
    """A site key (a public key for browsers) on /mcp: 403, not 401."""
    site_key = world.server.post(
        "/v1/kb",
        json={"title": "Site key", "slug": unique("sitekey")},
        headers={"Authorization": f"Bearer {world.key}"},
    ).json()["data"]["site_key"]
    resp = world.server.post(
        "/mcp",
        json=initialize_body("2025-11-25"),
        headers={"Authorization": f"Bearer {site_key}", "Accept": "application/json, text/event-stream"},
    )
    assert resp.status_code == 403, resp.text
