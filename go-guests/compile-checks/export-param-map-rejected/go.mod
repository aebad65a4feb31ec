module compilecheck/export-param-map-rejected

go 1.24
