module compilecheck/export-struct-pointer-field-rejected

go 1.24
