-- wrk script: the same POST for every request, and a check of every response.
--
-- bench/load.py passes the request in the environment: BENCH_BODY (the JSON-RPC body) and
-- BENCH_HEADERS ("Name: value" lines). A response counts as bad unless it is HTTP 200 with a
-- JSON-RPC "result" that is not a tool error ("isError": true). At the end one line,
-- BENCH_RESULT {...}, gives the figures load.py reads, and BENCH_SAMPLE the first bad response.

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
for name, value in string.gmatch(os.getenv("BENCH_HEADERS") or "", "([^:\n]+): ([^\n]*)") do
  wrk.headers[name] = value
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  sample = ""
end

function response(status, headers, body)
  local ok = status == 200
    and body:find('"result"%s*:') ~= nil
    and body:find('"isError"%s*:%s*true') == nil
  if not ok then
    bad = bad + 1
    if sample == "" then
      sample = ("HTTP " .. status .. " " .. body:sub(1, 600)):gsub("[\r\n]", " ")
    end
  end
end

function done(summary, latency, requests)
  local bad_total, first = 0, ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "microseconds": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non_2xx": %d, "socket_errors": %d, "timeouts": %d, "bad": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write, e.timeout, bad_total))
  if first ~= "" then io.write("BENCH_SAMPLE " .. first .. "\n") end
end
