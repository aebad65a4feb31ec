module compilecheck/import-struct-pointer-field-result-rejected

go 1.24
