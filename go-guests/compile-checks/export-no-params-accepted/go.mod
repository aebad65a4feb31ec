module compilecheck/export-no-params-accepted

go 1.24
