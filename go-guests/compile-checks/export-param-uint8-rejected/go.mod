module compilecheck/export-param-uint8-rejected

go 1.24
