module compilecheck/import-struct-pointer-param-accepted

go 1.24
