return function(doc, meta)
  error("kaboom")
end
