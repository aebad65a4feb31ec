module compilecheck/export-method-rejected

go 1.24
