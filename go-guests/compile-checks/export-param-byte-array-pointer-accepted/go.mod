module compilecheck/export-param-byte-array-pointer-accepted

go 1.24
