return function(doc, meta) doc.f = print return doc end
