-- wrk script: every request is a new user's first message, so it runs the matcher and writes new state.
-- The users are new in every run (ZWB_BENCH_RUN). The texts are the utterances of tests/data/utterances.tsv
-- (ZWB_BENCH_UTTERANCES), in turn.
local counter = 0
local prefix = os.getenv("ZWB_BENCH_RUN") or tostring(os.time())  -- per run: wrk does not seed math.random
local texts = {}
for line in io.lines(os.getenv("ZWB_BENCH_UTTERANCES")) do
  local text = line:match("^([^\t]+)\t")
  if text and text ~= "text" then texts[#texts + 1] = text:gsub('[\\"]', "") end
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = string.format('{"user": "bench-%s-%d", "text": "%s"}', prefix, counter, texts[counter % #texts + 1])
  return wrk.format(nil, nil, nil, body)
end
