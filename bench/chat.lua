-- wrk script: every request is a new user's first message, so it runs the matcher and writes new state.
local counter = 0
local prefix = tostring(math.random(1, 1e9))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = string.format('{"user": "bench-%s-%d", "text": "身份证过期了咋办"}', prefix, counter)
  return wrk.format(nil, nil, nil, body)
end
