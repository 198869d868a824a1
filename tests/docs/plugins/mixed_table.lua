return function(doc, meta) doc.m = {1, 2, x = 3} return doc end
