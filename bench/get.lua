-- wrk script: every request gets one existing article (GET /v1/kb/:kb/articles/:id), rotating
-- through the IDs listed one per line in BENCH_IDS. Each wrk thread starts at its own offset.
-- Environment: TOME_KEY (admin key), TOME_KB, BENCH_IDS.
local function env(name)
  local value = os.getenv(name)
  assert(value, name .. " is not set")
  return value
end

local ids = {}
for line in io.lines(env("BENCH_IDS")) do
  if #line > 0 then
    ids[#ids + 1] = line
  end
end
assert(#ids > 0, "no article IDs in " .. env("BENCH_IDS"))

local threads = 0
function setup(thread)
  thread:set("offset", threads * 997)
  threads = threads + 1
end

local requests = {}
local n = 0

function init(args)
  local headers = { ["Authorization"] = "Bearer " .. env("TOME_KEY") }
  local path = "/v1/kb/" .. env("TOME_KB") .. "/articles/"
  -- Requests are formatted once, so wrk spends no CPU building them during the run.
  for i, id in ipairs(ids) do
    requests[i] = wrk.format("GET", path .. id, headers)
  end
  n = offset or 0
end

function request()
  n = n + 1
  return requests[n % #requests + 1]
end
