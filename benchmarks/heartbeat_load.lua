-- Open-loop heartbeats for wrk (Debian's wrk 4, LuaJIT), driven by bench_dinas_throughput.
--
--   ADM_LOAD_RATE=833 ADM_LOAD_CONNECTIONS=64 ADM_LOAD_KIOSKS=kiosks ADM_LOAD_BODY=body.json \
--   ADM_LOAD_OUT=latencies.txt wrk -t64 -c64 -d60s --timeout 10s -s heartbeat_load.lua URL
--
-- One connection per wrk thread (-t = -c), so each thread's delay/request/response calls
-- belong to its one connection. Connection i sends its k-th heartbeat when it is due, at
-- start + (i + k * connections) / rate (delay() waits for that moment, rounded up to the next
-- millisecond), and its latency counts from that due time, not from when it was sent: a
-- server that falls behind shows as latency, never as a lower rate (no coordinated omission,
-- as in wrk2). wrk's own latency figures count from the send, and are not used.
-- Thread i rotates through its share of the kiosks (file ADM_LOAD_KIOSKS.i, lines "id token"),
-- with the heartbeat body of ADM_LOAD_BODY, whose {k} {n} {n2} {n3} {up} are filled in.
-- done() writes wrk's error counts, the end time and the interval, then per thread its start,
-- how many it had answered and how many failed, and their latencies (ms), one a line; the
-- benchmark adds the heartbeats that were due and not answered by the end.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } adm_timespec;
int clock_gettime(int clock, adm_timespec *now);
]]
local clock_now = ffi.new("adm_timespec")

local function now_ms()
   ffi.C.clock_gettime(1, clock_now)          -- CLOCK_MONOTONIC
   return tonumber(clock_now.tv_sec) * 1000 + tonumber(clock_now.tv_nsec) / 1e6
end

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local rate, connections, interval, phase
local kiosks, template = {}, nil
-- Globals: done() reads them from each thread.
start, slots, due, latencies, failed = nil, 0, 0, {}, 0

function init(args)
   rate = tonumber(os.getenv("ADM_LOAD_RATE"))
   connections = tonumber(os.getenv("ADM_LOAD_CONNECTIONS"))
   interval = 1000 * connections / rate
   phase = 1000 * id / rate
   for line in io.lines(os.getenv("ADM_LOAD_KIOSKS") .. "." .. id) do
      local kiosk, token = line:match("^(%S+) (%S+)$")
      table.insert(kiosks, {kiosk, "Bearer " .. token})
   end
   local file = assert(io.open(os.getenv("ADM_LOAD_BODY")))
   template = file:read("*a")
   file:close()
end

function delay()
   local now = now_ms()
   if start == nil then
      start = now + phase
   end
   due = start + slots * interval
   slots = slots + 1
   local wait = due - now
   return wait > 0 and math.ceil(wait) or 0
end

function request()
   local kiosk = kiosks[(slots - 1) % #kiosks + 1]
   local n = slots * connections + id
   local values = {k = kiosk[1], n = n, n2 = 2 * n, n3 = 3 * n, up = 3600 + n}
   local body = template:gsub("{(%w+)}", values)
   return wrk.format("POST", nil, {["Authorization"] = kiosk[2], ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
   latencies[#latencies + 1] = now_ms() - due
   if status ~= 200 then
      failed = failed + 1
   end
end

function done(summary, latency, requests)
   local finished = now_ms()
   local out = assert(io.open(os.getenv("ADM_LOAD_OUT"), "w"))
   local e = summary.errors
   out:write(string.format("errors %d %d %d %d %d\n", e.connect, e.read, e.write, e.status, e.timeout))
   out:write(string.format("end %.3f %.6f\n", finished,
                           1000 * tonumber(os.getenv("ADM_LOAD_CONNECTIONS")) / tonumber(os.getenv("ADM_LOAD_RATE"))))
   for _, thread in ipairs(threads) do
      local answered = thread:get("latencies")
      out:write(string.format("thread %.3f %d %d\n", thread:get("start") or finished + 1, #answered,
                              thread:get("failed")))
      for _, ms in ipairs(answered) do
         out:write(string.format("%.3f\n", ms))
      end
   end
   out:close()
end
