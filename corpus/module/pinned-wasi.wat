;; The pinned environment, read straight through WASI preview1: every engine must give this
;; module the same random bytes, the same virtual clock readings and the same virtual sleep
;; (harness/src/pinned_wasi.rs and hosts/PROTOCOL.md). `go` leaves them all in memory, so the
;; memory oracle compares them byte for byte, and returns the four errnos.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "harness" "record_i64" (func $record (param i64)))
  (memory (export "memory") 1)
  ;; One relative clock subscription: userdata 7, monotonic, 5 ms.
  (data (i32.const 200) "\07\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00\40\4b\4c\00\00\00\00\00")
  (func (export "_initialize"))
  (func (export "go") (result i32 i32 i32 i32)
    (drop (call $random (i32.const 0) (i32.const 20)))
    (drop (call $random (i32.const 32) (i32.const 8)))
    (call $clock (i32.const 1) (i64.const 0) (i32.const 40))
    (call $clock (i32.const 0) (i64.const 0) (i32.const 48))
    (call $poll (i32.const 200) (i32.const 300) (i32.const 1) (i32.const 340))
    (call $clock (i32.const 1) (i64.const 0) (i32.const 56))
    (call $record (i64.load (i32.const 56)))))
