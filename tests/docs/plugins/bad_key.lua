-- sets a field whose name is not UTF-8
return function(doc, meta) doc["\xff\xfe"] = 1 return doc end
