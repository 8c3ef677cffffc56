-- wrk script for bench/hosted.sh: GET one hosted page over and over. The same script (same
-- request bytes) is used against tome and against nginx.
-- Environment: BENCH_PATH (request path), BENCH_GZIP (1: send Accept-Encoding: gzip).
local request_bytes

-- Formatted once in init(), when wrk knows the Host header to send.
function init(args)
  local path = os.getenv("BENCH_PATH")
  assert(path, "BENCH_PATH is not set")
  local headers = { ["Accept"] = "text/html" }
  if os.getenv("BENCH_GZIP") == "1" then
    headers["Accept-Encoding"] = "gzip"
  end
  request_bytes = wrk.format("GET", path, headers)
end

function request()
  return request_bytes
end
