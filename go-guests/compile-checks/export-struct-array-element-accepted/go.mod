module compilecheck/export-struct-array-element-accepted

go 1.24
