return function(doc, meta) return 42 end
