module compilecheck/import-struct-slice-field-rejected

go 1.24
