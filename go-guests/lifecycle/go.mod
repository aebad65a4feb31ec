module reactorharness/guests/lifecycle

go 1.24
