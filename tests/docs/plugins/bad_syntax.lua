-- a syntax error on line 3
return function(doc)
  doc.x = = 1
end
