module compilecheck/export-result-int-rejected

go 1.24
