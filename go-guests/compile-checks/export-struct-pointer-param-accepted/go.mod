module compilecheck/export-struct-pointer-param-accepted

go 1.24
