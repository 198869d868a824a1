-- mask_email.lua: a dip plugin (Lua 5.4) that masks e-mail addresses before indexing:
-- "jane.doe@example.com" -> "j***@example.com" (a one-character local part gives
-- "***@example.com"). It masks the string fields named "email" at any depth of the document
-- (the root and nested child objects and arrays), and any other string field whose whole value
-- is an address. Strings without "@" are left alone.
--
-- List it in schema.json as "plugins": ["mask_email"].

local function mask(addr)
  local localpart, domain = addr:match("^(.*)@([^@]*)$")
  if not localpart then return addr end
  if #localpart > 1 then
    return localpart:sub(1, 1) .. "***@" .. domain
  end
  return "***@" .. domain
end

local function looks_like_address(s)
  return s:match("^[%w._%%+%-]+@[%w.%-]+%.%a%a+$") ~= nil
end

local function walk(v)
  if type(v) ~= "table" or v == dip.null then return v end
  for k, x in pairs(v) do
    if type(x) == "string" and (k == "email" or looks_like_address(x)) then
      v[k] = mask(x)
    elseif type(x) == "table" then
      walk(x)
    end
  end
  return v
end

return function(doc, meta)
  return walk(doc)
end
