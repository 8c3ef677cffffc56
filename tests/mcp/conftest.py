"""Fixtures of the MCP suite: real `tome serve` processes, projects and keys made with the CLI,
and MCP clients of the official Python SDK over stdio (`tome mcp`) and Streamable HTTP (`/mcp`).

The backend is SQLite (a temporary data directory) unless `TOME_MCP_DATABASE_URL` names a fresh
PostgreSQL database (scripts/mcp-python.sh makes one per run). `TOME_BIN` is the binary to test
(default: target/debug/tome of this checkout).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client.stdio import StdioServerParameters, get_default_environment
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

REPO = Path(__file__).resolve().parents[2]
TOME = Path(os.environ.get("TOME_BIN") or REPO / "target" / "debug" / "tome")
DATABASE_URL = os.environ.get("TOME_MCP_DATABASE_URL") or None
BACKEND = "postgres" if DATABASE_URL else "sqlite"

# The revisions Tome speaks, and how the SDK's `Client` is told to use each: the 2025-11-25
# handshake (`initialize`), or 2026-07-28 found by the `server/discover` probe ("auto").
REVISIONS = {"2025-11-25": "legacy", "2026-07-28": "auto"}
TRANSPORTS = ("stdio", "http")
KINDS = [(t, r) for t in TRANSPORTS for r in REVISIONS]

_names = itertools.count()


def unique(prefix: str) -> str:
    """A slug-safe name no other test uses in this run."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------
# Processes


class Database:
    """Where Tome keeps its data for this run, and the CLI against it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.data_dir.mkdir()

    def args(self, data_dir: Path | None = None) -> list[str]:
        """The options that point `tome` at this database. On PostgreSQL each process gets its
        own data directory (each node has its own search index)."""
        if DATABASE_URL:
            own = data_dir or self.data_dir
            own.mkdir(exist_ok=True)
            return ["--database-url", DATABASE_URL, "--data-dir", str(own)]
        return ["--data-dir", str(self.data_dir)]

    def cli(self, *args: str) -> Any:
        """Runs `tome ARGS --json` against this database; its parsed output."""
        out = subprocess.run(
            [str(TOME), *args, *self.args(), "--json"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, f"tome {' '.join(args)} failed: {out.stderr}"
        return json.loads(out.stdout)

    def project_with_key(self, name: str, cap: int | None = None) -> tuple[str, str]:
        """A new project and an admin key of it; with `cap`, its monthly credit cap is set
        afterwards with `tome project update --credit-cap`."""
        project = self.cli("project", "create", "--name", name)
        key = self.cli("key", "create", "--project", project["id"], "--kind", "admin")
        if cap is not None:
            updated = self.cli("project", "update", project["id"], "--credit-cap", str(cap))
            assert updated["credit_cap"] == cap
        return project["id"], key["key"]


class Server:
    """A running `tome serve` on a free loopback port."""

    def __init__(self, db: Database, name: str, extra: list[str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = db.root / f"{name}.log"
        self._stderr = open(self.log, "w")  # noqa: SIM115 — closed in stop()
        self.proc = subprocess.Popen(
            [
                str(TOME),
                "serve",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--log-format",
                "json",
                *db.args(db.root / name),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "TOME_LOG": "warn"},
        )
        self.stdout: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tome serve exited early: {self.log.read_text()}")
            try:
                if httpx2.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"tome serve did not answer /healthz: {self.log.read_text()}")
            time.sleep(0.05)
        # The bootstrap message is printed before the listener opens.
        time.sleep(0.05)
        self.printed_key = next(
            (w for line in self.stdout for w in line.split() if w.startswith("tome_")), None
        )

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)

    def get(self, path: str, **kw: Any) -> httpx2.Response:
        return httpx2.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, **kw: Any) -> httpx2.Response:
        return httpx2.post(self.base + path, timeout=30, **kw)

    def problems(self) -> list[str]:
        """Panics and ERROR lines the server logged."""
        return [
            line
            for line in self.log.read_text().splitlines()
            if '"level":"ERROR"' in line or "panicked" in line
        ]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()


# Limits high enough that the suite never trips them; local folders allowed as sources.
SERVE_ARGS = [
    "--admin-rate-limit",
    "1000000",
    "--hosted-rate-limit",
    "1000000",
    "--assistant-rate-limit",
    "1000000",
]


# ------------------------------------------------------------------------------------------------
# MCP clients


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)


class Mcp:
    """One SDK client session, with the checks every call needs."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._tools: dict[str, Any] | None = None

    @property
    def protocol_version(self) -> str:
        return self.client.protocol_version

    async def tools(self) -> dict[str, Any]:
        if self._tools is None:
            listed = await self.client.list_tools(cache_mode="bypass")
            assert listed.next_cursor is None
            self._tools = {t.name: t for t in listed.tools}
        return self._tools

    async def ok(self, tool: str, **args: Any) -> Any:
        """Calls `tool`; asserts success and that `structuredContent` matches the tool's
        `outputSchema`; returns the structured content."""
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, f"{tool}({args}) failed: {result.structured_content}"
        assert result.structured_content is not None, f"{tool}: no structuredContent"
        assert result.content and result.content[0].type == "text", f"{tool}: no text rendering"
        schema = (await self.tools())[tool].output_schema
        assert schema is not None, f"{tool} has no outputSchema"
        validator(schema).validate(result.structured_content)
        return result.structured_content

    async def error(self, tool: str, **args: Any) -> dict[str, Any]:
        """Calls `tool`; asserts a tool error (`isError`) carrying the REST error envelope;
        returns it (`code`, `message`, `details`)."""
        result = await self.client.call_tool(tool, args)
        assert result.is_error, f"{tool}({args}) should have failed: {result.structured_content}"
        err = result.structured_content
        assert isinstance(err, dict), f"{tool}: error without structuredContent"
        assert isinstance(err.get("code"), str) and isinstance(err.get("message"), str), err
        # `details` is always there: an object, or null (as in the REST envelope).
        assert "details" in err and (err["details"] is None or isinstance(err["details"], dict)), err
        text = result.content[0].text if result.content else ""
        assert err["code"] in text, f"the text rendering names no code: {text!r}"
        return err

    async def rpc_error(self, tool: str, **args: Any) -> MCPError:
        """Calls `tool`; asserts a JSON-RPC error (the SDK raises `MCPError`)."""
        try:
            result = await self.client.call_tool(tool, args)
        except MCPError as e:
            return e
        pytest.fail(f"{tool}({args}): a tool result where a JSON-RPC error was due: {result}")


def mcp_errors(exc: BaseException) -> list[MCPError]:
    """The JSON-RPC errors in what the SDK raised (it wraps them in its task groups' groups)."""
    if isinstance(exc, MCPError):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        return [e for sub in exc.exceptions for e in mcp_errors(sub)]
    return []


@dataclass
class World:
    """The run's database, its first server (node A) and the admin key it printed."""

    db: Database
    server: Server
    key: str

    def stdio_params(self, key: str) -> StdioServerParameters:
        return StdioServerParameters(
            command=str(TOME),
            args=[
                *self.db.args(self.db.root / "stdio"),
                "mcp",
                "--key",
                key,
                "--public-url",
                self.server.base,
            ],
            env={**get_default_environment(), "TOME_LOG": "error"},
        )

    @asynccontextmanager
    async def connect(
        self,
        kind: tuple[str, str],
        key: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        url: str | None = None,
        anonymous: bool = False,
    ) -> AsyncIterator[Mcp]:
        """An MCP session over `kind` = (transport, revision) as `key` (default: the admin key
        of the default project; `anonymous`: no key at all). Asserts the revision the SDK
        negotiated."""
        transport, revision = kind
        key = key or self.key
        headers = {} if anonymous else {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60)) as own_http:
            if transport == "stdio":
                target: Any = self.stdio_params(key)
            else:
                target = streamable_http_client(
                    url or f"{self.server.base}/mcp", http_client=http_client or own_http
                )
            async with Client(target, mode=REVISIONS[revision], read_timeout_seconds=60) as client:
                assert client.protocol_version == revision
                yield Mcp(client)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    assert TOME.is_file(), f"{TOME} is missing: build it with `cargo build -p tome` or set TOME_BIN"
    db = Database(tmp_path_factory.mktemp("tome"))
    server = Server(db, "node-a", SERVE_ARGS)
    try:
        assert server.printed_key, f"no admin key printed on first start: {server.stdout}"
        yield World(db, server, server.printed_key)
    finally:
        server.stop()
    problems = server.problems()
    assert not problems, "the server logged errors:\n" + "\n".join(problems[:20])


@pytest.fixture(params=KINDS, ids=[f"{t}-{r}" for t, r in KINDS])
def kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(transport, revision): every test taking it runs over both transports and revisions."""
    return request.param


@pytest.fixture(params=list(REVISIONS), ids=[f"http-{r}" for r in REVISIONS])
def http_kind(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Streamable HTTP on both revisions (for what only HTTP has)."""
    return ("http", request.param)


async def make_kb(mcp: Mcp, *, public: bool = True, prefix: str = "kb") -> tuple[str, str, str]:
    """A knowledge base with one category through the tools: (kb_id, slug, category_id)."""
    slug = unique(prefix)
    kb = await mcp.ok("create_knowledge_base", title=f"KB {slug}", slug=slug, is_public=public)
    cat = await mcp.ok("create_category", kb_id=kb["id"], name="Getting started")
    return kb["id"], slug, cat["id"]
