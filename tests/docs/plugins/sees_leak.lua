return function(doc, meta)
  doc.leak = LEAK or "none"
  return doc
end
