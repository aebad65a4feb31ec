module compilecheck/export-param-any-rejected

go 1.24
