;; proc_exit with a status above 125. WASI preview1 passes the status as a u32 and says nothing
;; of a range; wazero and Node exit with 138, wasmtime-wasi 48 fails the call instead ("exit with
;; invalid exit status outside of [0..126)"). Found by the `calls` fuzz target (Go's os.Exit(138)).
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "exit138") (call $exit (i32.const 138))))
