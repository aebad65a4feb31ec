module compilecheck/export-misplaced-before-var-group-rejected

go 1.24
