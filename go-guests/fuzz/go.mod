module reactorharness/guests/fuzz

go 1.24
