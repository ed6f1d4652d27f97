-- wrk script of the search benchmark (bench/search_load.py): every request is a line
-- drawn uniformly at random from BENCH_REQUESTS, either "GET<TAB>path" or
-- "POST<TAB>path<TAB>body" (an application/x-www-form-urlencoded body, as the
-- Reconciliation Service's clients send their batches). The Accept header is BENCH_ACCEPT.
-- Seeds are fixed per thread, so a run's sequence of requests is reproducible. At the end
-- it prints the same "BENCH_JSON {...}" line as wrk_paths.lua.

local requests = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do
  local method, path, body = line:match("^(%u+)\t([^\t]+)\t?(.*)$")
  if method then requests[#requests + 1] = {method, path, body} end
end
local accept = os.getenv("BENCH_ACCEPT") or "*/*"

local counter = 1
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(1000 + (thread_id or 0) * 7919)
end

function request()
  local r = requests[math.random(#requests)]
  if r[1] == "POST" then
    return wrk.format("POST", r[2], {
      ["Accept"] = accept,
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, r[3])
  end
  return wrk.format("GET", r[2], {["Accept"] = accept})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
