module compilecheck/export-param-chan-rejected

go 1.24
