module compilecheck/import-many-params-accepted

go 1.24
