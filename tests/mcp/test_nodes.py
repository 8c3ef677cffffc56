"""Two `tome serve` nodes on one PostgreSQL database answer one MCP client whose consecutive HTTP
requests alternate between them: the server keeps no session, so any node answers any request,
on both protocol revisions (the 2025-11-25 handshake lands on one node, the next call on the
other)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx2
import pytest

from conftest import BACKEND, REVISIONS, SERVE_ARGS, Server, World, unique

pytestmark = pytest.mark.anyio

# How long another node may take to see a write in its search index (it follows the database's
# change feed); the management reads go to the database and must be right at once.
SEARCH_BOUND = 5.0


@pytest.fixture(scope="module")
def node_b(world: World) -> Iterator[Server]:
    if BACKEND != "postgres":
        pytest.skip("two nodes need a shared PostgreSQL database (the PostgreSQL pass)")
    server = Server(world.db, "node-b", SERVE_ARGS)
    try:
        assert server.printed_key is None, "only the first start bootstraps"
        yield server
    finally:
        server.stop()
    problems = server.problems()
    assert not problems, "node B logged errors:\n" + "\n".join(problems[:20])


class Alternate(httpx2.AsyncBaseTransport):
    """Sends each request to the next node in turn, whatever URL the SDK asked for."""

    def __init__(self, ports: list[int]) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.ports = ports
        self.sent: list[tuple[int, str]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[len(self.sent) % len(self.ports)]
        request.url = request.url.copy_with(port=port)
        request.headers["Host"] = f"127.0.0.1:{port}"
        body = request.content.decode() if request.content else ""
        method = body.split('"method":"', 1)[1].split('"', 1)[0] if '"method":"' in body else "?"
        self.sent.append((port, method))
        response = await self.inner.handle_async_request(request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("revision", list(REVISIONS))
async def test_one_session_across_two_nodes(world: World, node_b: Server, revision: str) -> None:
    a, b = world.server, node_b
    transport = Alternate([a.port, b.port])
    word = unique("wombatish").replace("-", "")
    async with httpx2.AsyncClient(
        transport=transport,
        headers={"Authorization": f"Bearer {world.key}"},
        timeout=httpx2.Timeout(60),
    ) as http:
        async with world.connect(("http", revision), http_client=http) as mcp:
            calls: list[tuple[str, Any]] = []

            async def ok(tool: str, **args: Any) -> Any:
                out = await mcp.ok(tool, **args)
                calls.append((tool, transport.sent[-1][0]))
                return out

            await mcp.tools()
            slug = unique("nodes")
            kb = await ok("create_knowledge_base", title="Nodes", slug=slug, is_public=True)
            assert (await ok("get_knowledge_base", kb_id=kb["id"]))["slug"] == slug
            cat = await ok("create_category", kb_id=kb["id"], name="Both")
            assert [c["id"] for c in (await ok("list_categories", kb_id=kb["id"]))["data"]] == [cat["id"]]
            art = await ok(
                "create_article",
                kb_id=kb["id"],
                category_id=cat["id"],
                title=f"The {word} guide",
                body=f"Everything about {word}.",
            )
            assert (await ok("get_article", kb_id=kb["id"], id=art["id"]))["title"] == f"The {word} guide"
            await ok("update_article", kb_id=kb["id"], id=art["id"], title=f"The {word} handbook")
            assert (await ok("get_article", kb_id=kb["id"], id=art["id"]))["title"] == f"The {word} handbook"
            assert (await ok("publish_article", kb_id=kb["id"], id=art["id"]))["status"] == "published"
            assert (await ok("get_article", kb_id=kb["id"], id=art["id"]))["status"] == "published"

            # Search, on whichever node the call lands, finds it within the bound.
            deadline = anyio.current_time() + SEARCH_BOUND
            while True:
                found = await ok("search_articles", kb_id=kb["id"], q=word)
                if art["id"] in str(found) or anyio.current_time() > deadline:
                    break
                await anyio.sleep(0.1)
            assert art["id"] in str(found), found

            listed = await ok("list_articles", kb_id=kb["id"], status="published")
            assert [x["id"] for x in listed["data"]] == [art["id"]]
            resources = await mcp.client.list_resources(cache_mode="bypass")
            uri = f"tome://kb/{slug}/articles/{art['id']}"
            assert uri in {str(r.uri) for r in resources.resources} or resources.next_cursor
            read = await mcp.client.read_resource(uri, cache_mode="bypass")
            assert read.contents[0].text.startswith(f"# The {word} handbook")
            assert await ok("delete_article", kb_id=kb["id"], id=art["id"]) == {"deleted": True}
            gone = await mcp.error("get_article", kb_id=kb["id"], id=art["id"])
            assert gone["code"] == "article_not_found"
            assert await ok("delete_knowledge_base", kb_id=kb["id"]) == {"deleted": True}

    # Every request went to the node after the previous one's, and both nodes answered calls.
    ports = [p for p, _ in transport.sent]
    assert ports == [[a.port, b.port][i % 2] for i in range(len(ports))]
    assert {p for _, p in calls} == {a.port, b.port}, calls
    if revision == "2025-11-25":
        assert transport.sent[0] == (a.port, "initialize")
        assert transport.sent[1][0] == b.port
    else:
        assert transport.sent[0] == (a.port, "server/discover")
    assert len(calls) >= 14, calls
