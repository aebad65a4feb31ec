module compilecheck/export-param-unsafe-pointer-accepted

go 1.24
