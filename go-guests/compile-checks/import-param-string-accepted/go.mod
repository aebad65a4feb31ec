module compilecheck/import-param-string-accepted

go 1.24
