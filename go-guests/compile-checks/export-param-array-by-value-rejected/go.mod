module compilecheck/export-param-array-by-value-rejected

go 1.24
