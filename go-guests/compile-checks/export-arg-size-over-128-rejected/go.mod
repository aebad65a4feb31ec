module compilecheck/export-arg-size-over-128-rejected

go 1.24
