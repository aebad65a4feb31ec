module reactorharness/guests/command

go 1.24
