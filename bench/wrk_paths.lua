-- wrk script of the pledge_lod benchmark: every request asks for a path drawn uniformly
-- at random from a list (one path a line, in BENCH_PATHS), with the Accept header
-- BENCH_ACCEPT and an X-Bench-Set header (BENCH_SET) that only the floor app reads.
-- Seeds are fixed per thread, so a run's sequence of paths is reproducible.
-- At the end it prints one line "BENCH_JSON {...}" with the counts and the latency
-- percentiles (microseconds) for bench/deref.py to parse.

local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local headers = {
  ["Accept"] = os.getenv("BENCH_ACCEPT") or "*/*",
  ["X-Bench-Set"] = os.getenv("BENCH_SET") or "",
}

local counter = 1
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(1000 + (thread_id or 0) * 7919)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
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
