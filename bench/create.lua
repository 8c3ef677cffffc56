-- wrk script: every request creates one article (POST /v1/kb/:kb/articles).
-- Environment: TOME_KEY (admin key), TOME_KB, TOME_CATEGORY, BENCH_ARTICLE (JSON file whose
-- "__CATEGORY_ID__" placeholder is replaced by TOME_CATEGORY).
local function env(name)
  local value = os.getenv(name)
  assert(value, name .. " is not set")
  return value
end

local f = assert(io.open(os.getenv("BENCH_ARTICLE") or "bench/article.json", "r"))
local body = f:read("*a")
f:close()
body = (body:gsub("__CATEGORY_ID__", env("TOME_CATEGORY")))

wrk.method = "POST"
wrk.path = "/v1/kb/" .. env("TOME_KB") .. "/articles"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. env("TOME_KEY")
