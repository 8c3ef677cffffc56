-- wrk script for bench/mcp.sh: one request per line of BENCH_LINES, rotating; each wrk thread
-- starts at its own offset. The lines are what bench/mcp.py sent (and checked) in its latency
-- pass, so wrk replays requests whose answers are known to be right.
--   BENCH_MODE=rest  each line is a path: GET it with the admin key.
--   BENCH_MODE=mcp   each line is a JSON-RPC `tools/call` body (revision 2026-07-28, protocol
--                    version and capabilities in `_meta`): POST it to /mcp with the headers a
--                    2026-07-28 client sends (`Mcp-Name` is BENCH_TOOL).
-- Environment: TOME_KEY (admin key), BENCH_LINES, BENCH_MODE, BENCH_TOOL (mcp mode).
local function env(name)
  local value = os.getenv(name)
  assert(value, name .. " is not set")
  return value
end

local lines = {}
for line in io.lines(env("BENCH_LINES")) do
  if #line > 0 then
    lines[#lines + 1] = line
  end
end
assert(#lines > 0, "no lines in " .. env("BENCH_LINES"))

local threads = 0
function setup(thread)
  thread:set("offset", threads * 997)
  threads = threads + 1
end

local requests = {}
local n = 0

function init(args)
  local mode = env("BENCH_MODE")
  local auth = "Bearer " .. env("TOME_KEY")
  -- Requests are formatted once, so wrk spends no CPU building them during the run.
  for i, line in ipairs(lines) do
    if mode == "rest" then
      requests[i] = wrk.format("GET", line, { ["Authorization"] = auth })
    else
      requests[i] = wrk.format("POST", "/mcp", {
        ["Authorization"] = auth,
        ["Content-Type"] = "application/json",
        ["Accept"] = "application/json, text/event-stream",
        ["MCP-Protocol-Version"] = "2026-07-28",
        ["Mcp-Method"] = "tools/call",
        ["Mcp-Name"] = env("BENCH_TOOL"),
      }, line)
    end
  end
  n = offset or 0
end

function request()
  n = n + 1
  return requests[n % #requests + 1]
end
