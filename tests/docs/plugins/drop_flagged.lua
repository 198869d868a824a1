-- drops documents whose "skip" field is true
return function(doc, meta)
  if doc.skip == true then return nil end
  return doc
end
