-- wrk: each request posts one purchase event with an id of its own, for one of 2,000 members.
local counter = 0
function setup(thread)
  thread:set("tid", math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  local id = "w" .. tid .. "-" .. counter
  local member = "m" .. (counter * 7919 % 2000)
  local body = '[{"id":"' .. id .. '","type":"purchase","member":"' .. member ..
      '","at":"2026-12-01T10:00:00Z","channel":"pos","properties":{"order":"' .. id ..
      '","lines":[{"sku":"A","quantity":1,"unit_price":"5.00"}]}}]'
  return wrk.format("POST", "/v1/events", {["Content-Type"] = "application/json"}, body)
end
