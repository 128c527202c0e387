-- wrk script: every request is a new user's first message, so it runs the matcher and writes new state.
-- The users are new in every run (ZWB_BENCH_RUN). The texts are the utterances of tests/data/utterances.tsv
-- (ZWB_BENCH_UTTERANCES), in turn. With ZWB_BENCH_TOKENS (a file of session tokens, one per line, each a new
-- user's) every request is logged in with the next token instead of naming its user.
local counter = 0
local prefix = os.getenv("ZWB_BENCH_RUN") or tostring(os.time())  -- per run: wrk does not seed math.random
local texts = {}
for line in io.lines(os.getenv("ZWB_BENCH_UTTERANCES")) do
  local text = line:match("^([^\t]+)\t")
  if text and text ~= "text" then texts[#texts + 1] = text:gsub('[\\"]', "") end
end
local tokens = {}
if os.getenv("ZWB_BENCH_TOKENS") then
  for line in io.lines(os.getenv("ZWB_BENCH_TOKENS")) do tokens[#tokens + 1] = line end
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local text = texts[counter % #texts + 1]
  if #tokens > 0 then
    local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[counter % #tokens + 1]}
    return wrk.format(nil, nil, headers, string.format('{"text": "%s"}', text))
  end
  local body = string.format('{"user": "bench-%s-%d", "text": "%s"}', prefix, counter, text)
  return wrk.format(nil, nil, nil, body)
end
