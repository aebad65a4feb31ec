module compilecheck/import-usage-one-name-rejected

go 1.24
