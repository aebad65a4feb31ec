module compilecheck/export-struct-string-field-rejected

go 1.24
