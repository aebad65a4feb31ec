module compilecheck/export-param-struct-by-value-rejected

go 1.24
