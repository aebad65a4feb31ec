module compilecheck/import-param-int-rejected

go 1.24
