module compilecheck/export-param-pointer-no-hostlayout-rejected

go 1.24
