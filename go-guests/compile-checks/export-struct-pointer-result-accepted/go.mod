module compilecheck/export-struct-pointer-result-accepted

go 1.24
