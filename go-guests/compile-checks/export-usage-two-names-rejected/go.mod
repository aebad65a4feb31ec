module compilecheck/export-usage-two-names-rejected

go 1.24
