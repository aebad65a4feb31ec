module compilecheck/export-directive-on-var-ignored-accepted

go 1.24
