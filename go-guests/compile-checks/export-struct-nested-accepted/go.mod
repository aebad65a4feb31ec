module compilecheck/export-struct-nested-accepted

go 1.24
