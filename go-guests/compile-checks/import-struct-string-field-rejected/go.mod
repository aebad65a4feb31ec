module compilecheck/import-struct-string-field-rejected

go 1.24
