"""Articles as resources (paginated `resources/list`, Markdown `resources/read`), resource
templates, and cursors passing through `list_articles`."""

from __future__ import annotations

import re

import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

from conftest import Mcp, World, make_kb, unique

pytestmark = pytest.mark.anyio

ARTICLES = 105  # more than one page of resources (100)
BULK = 20  # the most `bulk_create_articles` takes


async def bulk_articles(mcp: Mcp, kb_id: str, cat_id: str, n: int, prefix: str) -> list[dict]:
    """`n` articles through `bulk_create_articles`, every third published."""
    made: list[dict] = []
    for start in range(0, n, BULK):
        batch = [
            {
                "category_id": cat_id,
                "title": f"{prefix} {i:03}",
                "excerpt": f"About {prefix} {i}.",
                "body": f"Step {i}: open **Settings**.\n\n- one\n- two",
                "status": "published" if i % 3 == 0 else "draft",
            }
            for i in range(start, min(n, start + BULK))
        ]
        out = await mcp.ok("bulk_create_articles", kb_id=kb_id, articles=batch)
        made.extend(out["data"] if isinstance(out, dict) and "data" in out else out)
    assert len(made) == n
    return made


async def test_resources_list_pages_and_read(world: World, kind: tuple[str, str]) -> None:
    # A project of its own, so that every resource listed is one this test made.
    _, key = world.db.project_with_key(unique("resources"))
    async with world.connect(kind, key=key) as mcp:
        kb_id, slug, cat_id = await make_kb(mcp, prefix="res")
        made = await bulk_articles(mcp, kb_id, cat_id, ARTICLES, "Guide")
        # A second knowledge base: the listing goes on across knowledge bases.
        kb2, slug2, cat2 = await make_kb(mcp, prefix="res2")
        more = await bulk_articles(mcp, kb2, cat2, 3, "Extra")
        expected = {f"tome://kb/{slug}/articles/{a['id']}": a for a in made}
        expected |= {f"tome://kb/{slug2}/articles/{a['id']}": a for a in more}

        seen: list[str] = []
        pages = 0
        cursor = None
        while True:
            page = await mcp.client.list_resources(cursor=cursor, cache_mode="bypass")
            pages += 1
            assert len(page.resources) <= 100
            for r in page.resources:
                assert r.mime_type == "text/markdown"
                assert r.title == expected[str(r.uri)]["title"], r
                seen.append(str(r.uri))
            cursor = page.next_cursor
            if cursor is None:
                break
            assert pages < 20, "resources/list does not end"
        assert pages >= 2
        assert len(seen) == len(set(seen)) == ARTICLES + 3
        assert set(seen) == set(expected)

        # Reading one: Markdown starting with its title.
        uri = f"tome://kb/{slug}/articles/{made[7]['id']}"
        read = await mcp.client.read_resource(uri, cache_mode="bypass")
        assert len(read.contents) == 1
        text = read.contents[0]
        assert str(text.uri) == uri and text.mime_type == "text/markdown"
        assert text.text.startswith("# Guide 007"), text.text[:200]
        assert "Step 7: open **Settings**." in text.text

        # The knowledge base and category resources of the templates read too (JSON).
        kb_read = await mcp.client.read_resource(f"tome://kb/{slug}", cache_mode="bypass")
        assert slug in kb_read.contents[0].text
        cat_read = await mcp.client.read_resource(
            f"tome://kb/{slug}/categories/{cat_id}", cache_mode="bypass"
        )
        assert made[0]["id"] in cat_read.contents[0].text

        templates = await mcp.client.list_resource_templates(cache_mode="bypass")
        uris = {t.uri_template for t in templates.resource_templates}
        assert uris == {
            "tome://kb/{slug}",
            "tome://kb/{slug}/categories/{id}",
            "tome://kb/{slug}/articles/{id}",
        }
        for t in templates.resource_templates:
            assert t.name and t.mime_type


async def test_resource_not_found(world: World, kind: tuple[str, str]) -> None:
    async with world.connect(kind) as mcp:
        with pytest.raises(MCPError):
            await mcp.client.read_resource("tome://kb/no-such-kb/articles/kba_nope", cache_mode="bypass")


async def test_list_articles_cursor_passes_through(world: World, kind: tuple[str, str]) -> None:
    async with world.connect(kind) as mcp:
        kb_id, _, cat_id = await make_kb(mcp, prefix="pages")
        made = await bulk_articles(mcp, kb_id, cat_id, 7, "Paged")
        ids: list[str] = []
        cursor = None
        pages = []
        while True:
            args = {"kb_id": kb_id, "limit": 3, "status": "draft,published"}
            if cursor:
                args["cursor"] = cursor
            page = await mcp.ok("list_articles", **args)
            pages.append(len(page["data"]))
            ids.extend(a["id"] for a in page["data"])
            cursor = page["pagination"]["next_cursor"]
            assert page["pagination"]["has_more"] == (cursor is not None)
            if cursor is None:
                break
            assert len(pages) < 10
        assert pages == [3, 3, 1]
        assert sorted(ids) == sorted(a["id"] for a in made)

        # The text rendering names the cursor to pass on.
        result = await mcp.client.call_tool("list_articles", {"kb_id": kb_id, "limit": 3})
        cursor = result.structured_content["pagination"]["next_cursor"]
        assert cursor and re.search(re.escape(cursor), result.content[0].text)

        # A cursor that is not one of Tome's is the operation refusing what it was asked (REST
        # 400 `invalid_request`): a tool error the model can act on, not a protocol error.
        bad = await mcp.error("list_articles", kb_id=kb_id, cursor="not-a-cursor")
        assert bad["code"] == "invalid_request", bad
