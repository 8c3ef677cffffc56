-- wrk script for bench/public.sh: GET one public-API path over and over, as many simulated
-- clients. The same script (same request bytes) is used against tome and against nginx.
--
-- Every request carries the site key and an X-Forwarded-For address taken in turn from
-- BENCH_CLIENTS distinct addresses (10.0.0.1, 10.0.0.2, …). Tome runs with
-- --trusted-proxies 127.0.0.1, so it counts each request against that address's per-client
-- rate-limit bucket (the check still runs on every request); with enough addresses no bucket
-- reaches the 1000/min cap. nginx ignores both headers.
--
-- Environment: BENCH_PATH (request path), TOME_SITE_KEY, BENCH_GZIP (1: send
-- Accept-Encoding: gzip), BENCH_CLIENTS (distinct addresses, default 16384).
local function env(name)
  local value = os.getenv(name)
  assert(value, name .. " is not set")
  return value
end

local threads = 0
function setup(thread)
  thread:set("offset", threads * 4099)
  threads = threads + 1
end

local requests = {}
local n = 0

function init(args)
  local path = env("BENCH_PATH")
  local key = env("TOME_SITE_KEY")
  local gzip = os.getenv("BENCH_GZIP") == "1"
  local clients = tonumber(os.getenv("BENCH_CLIENTS") or "16384")
  -- Requests are formatted once, so wrk spends no CPU building them during the run.
  for i = 1, clients do
    local headers = {
      ["X-Minolith-Site-Key"] = key,
      ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256,
        math.floor(i / 256) % 256, i % 256),
    }
    if gzip then
      headers["Accept-Encoding"] = "gzip"
    end
    requests[i] = wrk.format("GET", path, headers)
  end
  n = offset or 0
end

function request()
  n = n + 1
  return requests[n % #requests + 1]
end
