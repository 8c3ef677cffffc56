"""The public, read-only MCP server of a help centre: `POST /hc/{slug}/mcp`, no key."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import METHOD_NOT_FOUND

from conftest import World, make_kb, mcp_errors, unique

pytestmark = pytest.mark.anyio


async def test_public_help_centre(world: World, http_kind: tuple[str, str]) -> None:
    word = unique("quokkafy").replace("-", "")
    async with world.connect(http_kind) as admin:
        kb_id, slug, cat_id = await make_kb(admin, prefix="public")
        published = await admin.ok(
            "create_article",
            kb_id=kb_id,
            category_id=cat_id,
            title=f"Export your {word} data",
            body=f"## Exporting\n\nOpen **Settings → Export** to download your {word} data as CSV.",
            status="published",
        )
        draft = await admin.ok(
            "create_article",
            kb_id=kb_id,
            category_id=cat_id,
            title=f"Unreleased {word} plans",
            body=f"Secret {word} roadmap.",
        )
        private_id, private_slug, private_cat = await make_kb(admin, public=False, prefix="private")
        await admin.ok(
            "create_article",
            kb_id=private_id,
            category_id=private_cat,
            title=f"Internal {word} notes",
            status="published",
        )

    url = f"{world.server.base}/hc/{slug}/mcp"
    async with world.connect(http_kind, url=url, anonymous=True) as pub:
        tools = await pub.tools()
        assert set(tools) == {"search", "get_page"}
        for tool in tools.values():
            assert tool.annotations and tool.annotations.read_only_hint is True
        assert set(tools["search"].input_schema["properties"]) == {
            "query",
            "pageSize",
            "scoreThreshold",
            "filter",
        }

        found = await pub.ok("search", query=f"export {word}", pageSize=5)
        results = found["results"]
        assert results, found
        assert len(results) <= 5
        top = results[0]
        assert word in str(top).lower()
        # Drafts and other knowledge bases are not searched.
        assert "Unreleased" not in str(results) and "Internal" not in str(results)
        assert draft["id"] not in str(results)

        page = await pub.ok("get_page", path=top["path"])
        text = str(page)
        assert f"Export your {word} data" in text and "Settings → Export" in text

        missing = await pub.error("get_page", path=f"/hc/{slug}/articles/{draft['id']}")
        assert missing["code"].endswith("not_found"), missing

        # Published articles are its resources, read as Markdown.
        listed = await pub.client.list_resources(cache_mode="bypass")
        assert [r.name for r in listed.resources] == [published["id"]]
        read = await pub.client.read_resource(str(listed.resources[0].uri), cache_mode="bypass")
        assert read.contents[0].text.startswith(f"# Export your {word} data")

        # The management tools are not here.
        err = await pub.rpc_error("list_knowledge_bases")
        assert isinstance(err, MCPError)

    # A private knowledge base has no public MCP server: 404, with or without the SDK.
    resp = world.server.post(
        f"/hc/{private_slug}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"},
    )
    assert resp.status_code == 404, resp.text
    assert (
        world.server.post(
            "/hc/no-such-help-centre/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={"Accept": "application/json, text/event-stream"},
        ).status_code
        == 404
    )
    with pytest.raises((MCPError, BaseExceptionGroup)) as caught:
        async with world.connect(http_kind, url=f"{world.server.base}/hc/{private_slug}/mcp", anonymous=True):
            pass
    # The SDK reads a 404 on its first request as "method not found".
    assert [e.code for e in mcp_errors(caught.value)] == [METHOD_NOT_FOUND], caught.value

    # llms.txt links the public MCP server.
    llms = world.server.get(f"/hc/{slug}/llms.txt")
    assert llms.status_code == 200
    assert f"{world.server.base}/hc/{slug}/mcp" in llms.text, llms.text
