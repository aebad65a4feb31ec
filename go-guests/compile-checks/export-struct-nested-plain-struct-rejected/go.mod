module compilecheck/export-struct-nested-plain-struct-rejected

go 1.24
