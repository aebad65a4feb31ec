module compilecheck/export-too-many-results-rejected

go 1.24
