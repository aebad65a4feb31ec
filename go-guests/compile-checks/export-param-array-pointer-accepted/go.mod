module compilecheck/export-param-array-pointer-accepted

go 1.24
