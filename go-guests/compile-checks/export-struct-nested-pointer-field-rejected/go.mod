module compilecheck/export-struct-nested-pointer-field-rejected

go 1.24
