module compilecheck/export-arg-size-with-result-128-accepted

go 1.24
