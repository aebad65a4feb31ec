module compilecheck/export-struct-int-field-rejected

go 1.24
