module compilecheck/export-param-bool-accepted

go 1.24
