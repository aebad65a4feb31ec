module compilecheck/export-param-int32-pointer-accepted

go 1.24
