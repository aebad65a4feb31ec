module compilecheck/export-struct-slice-field-rejected

go 1.24
