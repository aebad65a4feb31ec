module compilecheck/import-struct-nested-pointer-field-rejected

go 1.24
