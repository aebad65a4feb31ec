module compilecheck/export-struct-pointer-field-result-rejected

go 1.24
