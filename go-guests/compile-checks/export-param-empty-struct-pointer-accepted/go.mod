module compilecheck/export-param-empty-struct-pointer-accepted

go 1.24
