module reactorharness/guests/goroutines

go 1.24
