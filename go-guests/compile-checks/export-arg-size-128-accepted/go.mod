module compilecheck/export-arg-size-128-accepted

go 1.24
