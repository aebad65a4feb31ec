module compilecheck/import-struct-nested-accepted

go 1.24
