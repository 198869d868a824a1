-- returns the document unchanged (value preservation test)
return function(doc, meta) return doc end
