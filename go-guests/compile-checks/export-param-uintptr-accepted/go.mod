module compilecheck/export-param-uintptr-accepted

go 1.24
