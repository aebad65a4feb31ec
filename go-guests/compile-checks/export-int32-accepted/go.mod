module compilecheck/export-int32-accepted

go 1.24
