module compilecheck/export-misplaced-in-func-body-rejected

go 1.24
