module compilecheck/import-with-body-rejected

go 1.24
