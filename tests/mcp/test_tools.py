"""Connecting, and `tools/list`: every schema is valid JSON Schema and every management operation
of the REST API has its tool."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from conftest import REVISIONS, World

pytestmark = pytest.mark.anyio

# operationId in /v1/openapi.json → the tool that stands for it.
TOOL_OF_OPERATION = {
    "list_kbs": "list_knowledge_bases",
    "get_kb": "get_knowledge_base",
    "create_kb": "create_knowledge_base",
    "update_kb": "update_knowledge_base",
    "delete_kb": "delete_knowledge_base",
    "list_categories": "list_categories",
    "get_category": "get_category",
    "create_category": "create_category",
    "update_category": "update_category",
    "delete_category": "delete_category",
    "list_sections": "list_sections",
    "get_section": "get_section",
    "create_section": "create_section",
    "update_section": "update_section",
    "delete_section": "delete_section",
    "list_articles": "list_articles",
    "get_article": "get_article",
    "create_article": "create_article",
    "bulk_create_articles": "bulk_create_articles",
    "update_article": "update_article",
    "bulk_update_articles": "bulk_update_articles",
    "publish_article": "publish_article",
    "archive_article": "archive_article",
    "delete_article": "delete_article",
    "list_faqs": "list_faqs",
    "get_faq": "get_faq",
    "create_faq": "create_faq",
    "update_faq": "update_faq",
    "publish_faq": "publish_faq",
    "delete_faq": "delete_faq",
    "search": "search_articles",
    "get_site_key": "get_site_key",
    "update_site_key": "update_site_key",
    "revoke_site_key": "revoke_site_key",
    "get_project": "get_project",
    "update_project": "update_project",
    "get_usage": "get_usage",
    "get_source": "get_source",
    "put_source": "set_source",
    "delete_source": "delete_source",
    "trigger_update": "trigger_update",
    "update_status": "get_update_status",
    "list_updates": "list_updates",
    "assistant_conversations": "list_assistant_conversations",
    "assistant_thread": "get_assistant_thread",
    "docs_search": "search_docs",
    "docs_page": "get_page",
}
# Tools that narrow an operation rather than stand for one.
EXTRA_TOOLS = {"move_article"}
# Operations that are not management: the public API (site keys), the push webhook (a git host
# calls it) and the assistant's messages (a visitor's conversation).
NOT_TOOLS = {"push_hook", "assistant_message_v1", "assistant_message_v2"}


def management_operations(world: World) -> dict[str, tuple[str, str]]:
    """operationId → (method, path) of every operation that must have a tool."""
    doc = world.server.get("/v1/openapi.json").json()
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            if path.startswith("/v1/kb/public/") or op["operationId"] in NOT_TOOLS:
                continue
            ops[op["operationId"]] = (method.upper(), path)
    return ops


async def test_initialize_and_every_operation_is_a_tool(world: World, kind: tuple[str, str]) -> None:
    async with world.connect(kind) as mcp:
        assert mcp.protocol_version == kind[1]
        info = mcp.client.server_info
        assert info is not None and info.name == "tome"
        caps = mcp.client.server_capabilities
        assert caps.tools is not None and caps.resources is not None
        tools = await mcp.tools()

    ops = management_operations(world)
    assert len(ops) >= 40, sorted(ops)
    missing = {op: ops[op] for op in ops if TOOL_OF_OPERATION.get(op) not in tools}
    assert not missing, f"operations without a tool: {missing}"
    # And nothing listed that stands for no operation.
    expected = {TOOL_OF_OPERATION[op] for op in ops} | EXTRA_TOOLS
    assert set(tools) == expected, set(tools) ^ expected


async def test_every_schema_is_valid_json_schema(world: World, kind: tuple[str, str]) -> None:
    async with world.connect(kind) as mcp:
        tools = await mcp.tools()
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    for name, tool in tools.items():
        assert tool.description and len(tool.description) > 20, name
        for which, schema in (("inputSchema", tool.input_schema), ("outputSchema", tool.output_schema)):
            assert isinstance(schema, dict), f"{name}: no {which}"
            errors = [e.message for e in meta.iter_errors(schema)]
            assert not errors, f"{name}.{which} is not Draft 2020-12 JSON Schema: {errors[:3]}"
            Draft202012Validator.check_schema(schema)
            # A tool's input and structured output are objects (MCP requires it).
            assert schema.get("type") == "object", f"{name}.{which}: {schema.get('type')}"
        assert tool.input_schema.get("additionalProperties") is False, name
        ann = tool.annotations
        assert ann is not None and ann.read_only_hint is not None, f"{name}: no annotations"
        if name.startswith(("list_", "get_", "search_")):
            assert ann.read_only_hint is True, name
        if name.startswith("delete_"):
            assert ann.read_only_hint is False and ann.destructive_hint is True, name


async def test_input_schemas_carry_the_rest_limits(world: World) -> None:
    """The tool's inputSchema is the REST operation's: the body fields' limits and required."""
    async with world.connect(("http", "2026-07-28")) as mcp:
        tools = await mcp.tools()
    create = tools["create_article"].input_schema
    assert set(create["required"]) >= {"kb_id", "category_id", "title"}
    assert create["properties"]["title"]["maxLength"] > 0
    assert "enum" in str(create["properties"]["status"])
    listing = tools["list_articles"].input_schema["properties"]
    assert {"limit", "cursor", "status", "category_id"} <= set(listing)
    move = tools["move_article"].input_schema["properties"]
    assert set(move) == {"kb_id", "id", "category_id", "section_id", "sort_order"}


async def test_revisions_are_told_apart_per_request(world: World) -> None:
    """Sessions on both revisions side by side against one server."""
    async with world.connect(("http", "2025-11-25")) as old, world.connect(("http", "2026-07-28")) as new:
        assert {old.protocol_version, new.protocol_version} == set(REVISIONS)
        a = await old.ok("list_knowledge_bases", limit=1)
        b = await new.ok("list_knowledge_bases", limit=1)
        assert a["data"][:1] == b["data"][:1]
