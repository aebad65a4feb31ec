module compilecheck/import-too-many-results-rejected

go 1.24
