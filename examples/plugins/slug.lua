-- slug.lua: a dip plugin (Lua 5.4) that adds a URL-friendly "slug" made from "title":
-- "Hello World! This is a Test" -> "hello-world-this-is-a-test".
--
-- Letters are lowercased; runs of spaces, tabs, underscores and hyphens become one hyphen;
-- every other character (punctuation, non-ASCII) is dropped; the slug never starts or ends
-- with a hyphen and is cut to at most 100 bytes at a hyphen when one is there. A document
-- without a string title is passed on unchanged.
--
-- List it in schema.json as "plugins": ["slug"] (dip looks for slug.lua in $DIP_PLUGIN_PATH,
-- then in the plugins/ directory beside schema.json).

local SOURCE, TARGET, MAX_LEN = "title", "slug", 100

local function slugify(text)
  local s = text:lower()
  s = s:gsub("[%s_%-]+", "-")
  s = s:gsub("[^a-z0-9%-]", "")
  s = s:gsub("%-+", "-")
  s = s:gsub("^%-", ""):gsub("%-$", "")
  if #s > MAX_LEN then
    s = s:sub(1, MAX_LEN)
    local cut = s:match("^(.*)%-")
    if cut then s = cut end
  end
  return s
end

return function(doc, meta)
  local title = doc[SOURCE]
  if type(title) == "string" and title ~= "" then
    doc[TARGET] = slugify(title)
  end
  return doc
end
