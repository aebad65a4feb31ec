module compilecheck/export-param-byte-slice-rejected

go 1.24
