module compilecheck/import-int32-accepted

go 1.24
