module compilecheck/export-17-params-ice-rejected

go 1.24
