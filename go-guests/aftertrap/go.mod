module reactorharness/guests/aftertrap

go 1.24
