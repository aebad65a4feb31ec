module reactorharness/guests/nesting

go 1.24
