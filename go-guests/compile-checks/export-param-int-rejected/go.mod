module compilecheck/export-param-int-rejected

go 1.24
