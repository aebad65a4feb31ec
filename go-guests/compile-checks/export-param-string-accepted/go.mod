module compilecheck/export-param-string-accepted

go 1.24
