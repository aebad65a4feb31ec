module compilecheck/export-result-string-rejected

go 1.24
