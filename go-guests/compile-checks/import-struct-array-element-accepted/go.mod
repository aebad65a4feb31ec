module compilecheck/import-struct-array-element-accepted

go 1.24
