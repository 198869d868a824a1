-- never returns
return function(doc, meta)
  local n = 0
  while true do n = n + 1 end
end
