module reactorharness/guests/marshal

go 1.24
