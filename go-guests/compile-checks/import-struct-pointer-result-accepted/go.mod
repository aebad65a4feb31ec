module compilecheck/import-struct-pointer-result-accepted

go 1.24
