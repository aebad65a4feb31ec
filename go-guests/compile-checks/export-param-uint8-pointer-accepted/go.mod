module compilecheck/export-param-uint8-pointer-accepted

go 1.24
