module compilecheck/export-struct-array-element-pointer-field-rejected

go 1.24
