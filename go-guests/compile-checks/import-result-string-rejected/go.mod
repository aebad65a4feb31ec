module compilecheck/import-result-string-rejected

go 1.24
