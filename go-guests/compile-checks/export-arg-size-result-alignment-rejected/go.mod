module compilecheck/export-arg-size-result-alignment-rejected

go 1.24
