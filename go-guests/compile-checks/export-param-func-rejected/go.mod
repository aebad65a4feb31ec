module compilecheck/export-param-func-rejected

go 1.24
