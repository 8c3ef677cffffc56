"""An agent's journey through the tools: create a public knowledge base, a category and an
article, publish it, find it with search, see it on the hosted help centre, then delete it all.
Every result's `structuredContent` is checked against the tool's `outputSchema` (`Mcp.ok`)."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from conftest import World, unique

pytestmark = pytest.mark.anyio


# How soon a write made by another process (`tome mcp` over stdio) shows on the server's hosted
# pages: it learns of it from the database's change feed, not from the write itself.
ELSEWHERE_BOUND = 5.0


async def hosted(world: World, kind: tuple[str, str], path: str, status: int) -> httpx2.Response:
    """GETs a hosted page of the server and asserts `status`. A write through `/mcp` went through
    the server's own caches, so the page must be right at once; a write by `tome mcp` (stdio)
    may take the server a moment to learn of."""
    deadline = anyio.current_time() + (ELSEWHERE_BOUND if kind[0] == "stdio" else 0)
    while True:
        page = world.server.get(path)
        if page.status_code == status or anyio.current_time() >= deadline:
            break
        await anyio.sleep(0.05)
    assert page.status_code == status, f"GET {path}: {page.status_code}: {page.text[:300]}"
    return page


async def test_journey(world: World, kind: tuple[str, str]) -> None:
    word = unique("zanzibarite").replace("-", "")
    slug = unique("journey")
    async with world.connect(kind) as mcp:
        kb = await mcp.ok("create_knowledge_base", title="Journey help", slug=slug, is_public=True)
        assert kb["slug"] == slug and kb["is_public"] is True
        assert kb["site_key"].startswith("psk_")
        kb_id = kb["id"]
        assert (await mcp.ok("get_knowledge_base", kb_id=kb_id))["title"] == "Journey help"

        cat = await mcp.ok("create_category", kb_id=kb_id, name="Accounts", description="Sign-in")
        section = await mcp.ok("create_section", kb_id=kb_id, category_id=cat["id"], name="Passwords")
        article = await mcp.ok(
            "create_article",
            kb_id=kb_id,
            category_id=cat["id"],
            section_id=section["id"],
            title=f"Reset your {word} password",
            body=f"Click **Forgot password** on the sign-in page of {word}.",
            tags=["account"],
        )
        assert article["status"] == "draft"
        art_id = article["id"]

        # A draft is not on the help centre.
        assert world.server.get(f"/hc/{slug}/articles/{art_id}").status_code == 404

        published = await mcp.ok("publish_article", kb_id=kb_id, id=art_id)
        assert published["status"] == "published"
        got = await mcp.ok("get_article", kb_id=kb_id, id=art_id)
        assert got["status"] == "published" and word in got["body"]

        listed = await mcp.ok("list_articles", kb_id=kb_id, status="published")
        assert [a["id"] for a in listed["data"]] == [art_id]

        found = await mcp.ok("search_articles", kb_id=kb_id, q=word)
        assert art_id in str(found), found
        # The documentation search and page, by the knowledge base's slug.
        passages = (await mcp.ok("search_docs", domain=slug, query=f"reset {word} password"))["results"]
        assert passages and word in str(passages[0]).lower(), passages
        doc = await mcp.ok("get_page", domain=slug, path=passages[0]["path"])
        assert "Forgot password" in str(doc), doc

        # The hosted help centre shows it: the article's page and the home page.
        page = await hosted(world, kind, f"/hc/{slug}/articles/{art_id}", 200)
        assert f"Reset your {word} password" in page.text
        home = await hosted(world, kind, f"/hc/{slug}", 200)
        assert "Accounts" in home.text

        moved = await mcp.ok("move_article", kb_id=kb_id, id=art_id, section_id=None)
        assert moved["section_id"] is None
        await mcp.ok("archive_article", kb_id=kb_id, id=art_id)
        await hosted(world, kind, f"/hc/{slug}/articles/{art_id}", 404)

        assert await mcp.ok("delete_article", kb_id=kb_id, id=art_id) == {"deleted": True}
        gone = await mcp.error("get_article", kb_id=kb_id, id=art_id)
        assert gone["code"].endswith("not_found"), gone
        assert await mcp.ok("delete_knowledge_base", kb_id=kb_id) == {"deleted": True}
        gone = await mcp.error("get_knowledge_base", kb_id=kb_id)
        assert gone["code"].endswith("not_found"), gone

    await hosted(world, kind, f"/hc/{slug}", 404)


async def test_faqs_and_project_tools(world: World, kind: tuple[str, str]) -> None:
    """The other families of tools answer with their schemas' shapes: FAQs, site key, project,
    usage, sources and updates."""
    async with world.connect(kind) as mcp:
        slug = unique("faqs")
        kb = await mcp.ok("create_knowledge_base", title="FAQs", slug=slug)
        kb_id = kb["id"]
        cat = await mcp.ok("create_category", kb_id=kb_id, name="General")
        faq = await mcp.ok(
            "create_faq", kb_id=kb_id, category_id=cat["id"], question="Where is my data?", answer="Here."
        )
        await mcp.ok("update_faq", kb_id=kb_id, id=faq["id"], answer="In your database.")
        assert (await mcp.ok("publish_faq", kb_id=kb_id, id=faq["id"]))["status"] == "published"
        faqs = await mcp.ok("list_faqs", kb_id=kb_id)
        assert [f["id"] for f in faqs["data"]] == [faq["id"]]
        assert (await mcp.ok("get_faq", kb_id=kb_id, id=faq["id"]))["answer"] == "In your database."

        await mcp.ok("get_site_key", kb_id=kb_id)
        await mcp.ok("update_site_key", kb_id=kb_id, rate_limit=500)
        rotated = await mcp.ok("revoke_site_key", kb_id=kb_id)
        assert rotated["site_key"] != kb["site_key"]

        project = await mcp.ok("get_project")
        assert project["id"].startswith("prj_")
        usage = await mcp.ok("get_usage")
        assert usage["credits_used"] >= 3 + 2 + 1
        await mcp.ok("list_updates")
        await mcp.ok("list_categories", kb_id=kb_id)
        await mcp.ok("list_sections", kb_id=kb_id)
        await mcp.ok("list_knowledge_bases", limit=100)
        await mcp.ok("delete_faq", kb_id=kb_id, id=faq["id"])
        await mcp.ok("delete_category", kb_id=kb_id, id=cat["id"])
        await mcp.ok("delete_knowledge_base", kb_id=kb_id)
