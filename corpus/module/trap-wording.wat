;; Traps whose kind an engine's wording hides (README, Findings 5), found by the smith target:
;; V8 words both float-to-int traps alike ("float unrepresentable in integer range") and a null
;; call_indirect like a signature mismatch; wazero words a null call_indirect like an index out of
;; bounds. Every engine traps at each export; the fuzz oracle compares these kinds as groups.
(module
  (type $v (func))
  (table 2 funcref)
  (memory (export "memory") 1)
  (func (export "_initialize"))
  (func (export "trunc_nan") (result i32) (i32.trunc_f32_s (f32.const nan)))
  (func (export "trunc_big") (result i32) (i32.trunc_f64_s (f64.const 1e10)))
  (func (export "call_null") (call_indirect (type $v) (i32.const 1)))
  (func (export "call_out_of_bounds") (call_indirect (type $v) (i32.const 7))))
