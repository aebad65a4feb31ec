;; table.init and memory.init that read past the end of their segment trap with the spec's
;; "out of bounds table access" and "out of bounds memory access". V8 words them "element segment
;; out of bounds" and "data segment out of bounds", which the Node host did not know and reported
;; as trap kind `other` (found by the smith fuzz target; README, Findings 6). Every engine agrees.
(module
  (type $v (func))
  (table 4 funcref)
  (memory (export "memory") 1)
  (elem $e func $f $f)
  (data $d "abc")
  (func $f)
  (func (export "_initialize"))
  (func (export "table_init_past_segment") (table.init $e (i32.const 0) (i32.const 1) (i32.const 2)))
  (func (export "memory_init_past_segment") (memory.init $d (i32.const 0) (i32.const 2) (i32.const 2)))
  (func (export "table_init_in_bounds") (result i32)
    (table.init $e (i32.const 1) (i32.const 0) (i32.const 2))
    (i32.const 1)))
