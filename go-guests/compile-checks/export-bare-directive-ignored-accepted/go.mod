module compilecheck/export-bare-directive-ignored-accepted

go 1.24
