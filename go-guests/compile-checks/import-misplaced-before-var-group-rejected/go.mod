module compilecheck/import-misplaced-before-var-group-rejected

go 1.24
