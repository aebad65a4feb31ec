module reactorharness/guests/hostlayout

go 1.24
