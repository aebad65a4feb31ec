module compilecheck/export-param-pointer-to-pointer-rejected

go 1.24
