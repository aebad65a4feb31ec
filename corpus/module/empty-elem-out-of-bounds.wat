;; An active element segment with no elements at offset -1 (4294967295) into a table of 5.
;; Since bulk memory (WebAssembly 2.0), instantiation runs `table.init` for each active segment,
;; and `table.init` traps when offset + length > table size, even for length 0: the module must
;; fail to instantiate. wasmtime (all three strategies), wasmi and V8 refuse it; wazero v1.12.0
;; (compiler and interpreter) instantiates it. Found by the smith fuzz target (README, Findings),
;; minimised by `reactor-harness shrink` from an 807-byte module to this.
(module
  (table 5 8 funcref)
  (elem (table 0) (i32.const -1) func)
  (memory (export "memory") 1)
  (func (export "_initialize")))
