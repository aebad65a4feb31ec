module compilecheck/import-struct-pointer-field-rejected

go 1.24
