-- wrk script: every request POSTs one distinct, full-size profile to /v1/on_import, so each
-- one is a real insert (content-derived ids would turn repeats into no-op duplicates).
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  counter = 0
  prefix = string.format("%d-%d", thread_index, os.time())
  template = '{"username":"bench","uuid":"%s-%d","hostname":"host01234","hostfqdn":"host01234.dc1.example.com",'
    .. '"uname":{"system":"Linux","node":"host01234","release":"6.1.0","version":"#1 SMP","machine":"x86_64","processor":"x86_64"},'
    .. '"linux_dist":{"name":"debian","version":"12"},"time":{"utc":"2026-11-29 10:00:00.000000","std_utc_offset":0.0},'
    .. '"python":{"argv":"/opt/app1/bin/worker.py --shard 1","bin":"/usr/bin/python3.11","is_64bit":true,'
    .. '"version":"3.11.7 (main, Oct  1 2024, 00:00:00) [GCC 12.2.0]","compiler":"GCC 12.2.0","build_date":"Oct  1 2024 00:00:00",'
    .. '"version_info":[3,11,7,"final",0],"implementation":"CPython","openssl_version":"OpenSSL 3.0.15 3 Sep 2024",'
    .. '"sqlite_version":"3.40.1","have_ucs4":true,"have_readline":true}}'
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/on_import", {["Content-Type"] = "application/json"},
    string.format(template, prefix, counter))
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("on_import answered " .. status .. ": " .. body .. "\n")
  end
end
