-- builds values in Lua: arrays, empty tables, dip.array(), dip.null, floats and integers
return function(doc, meta)
  return {a = {1, 2, 3}, b = {}, c = dip.array(), d = {x = dip.null}, e = 2^53, f = 7 // 2,
          g = "caf\u{e9}", id = meta._id, index = meta._index}
end
