-- reports which dangerous globals are reachable, and sets a global of its own
LEAK = "from sandbox.lua"
return function(doc, meta)
  doc.has_io = io ~= nil
  doc.has_os = os ~= nil
  doc.has_dofile = dofile ~= nil
  doc.has_require = require ~= nil
  return doc
end
