;; Finds, in a block of bytes, the first byte outside a class, and counts the
;; "\n" before it: sixty-four bytes at a step while all is in the class
;; (WebAssembly SIMD).
;;
;; The class is given by two 16-byte tables, one indexed by the low four bits
;; of a byte and one by the high four bits: byte b is in the class when
;; (low[b & 15] & high[b >> 4]) != 0. That can describe any set of bytes whose
;; sixteen rows (one per high nibble) come in at most eight different shapes.
;; "\n" must be in the class: it is what the scan counts.
;;
;; Memory:  0..15  the low-nibble table
;;         16..31  the high-nibble table
;;         64..    blocks to scan, in place
;;
;; Both table indexes are below 16, where the relaxed swizzle is exact.
;;
;; Built into lib/wire/plain_scan_wasm.ts by `deno task build:wasm`; a test checks
;; that the two agree.
(module
  (memory (export "memory") 1)

  ;; After a scan: how many "\n" come before the byte it stopped at.
  (global $lines (export "lines") (mut i32) (i32.const 0))

  ;; Sixteen lanes: 0 where the byte is outside the class, not 0 inside.
  (func $inside (param $v v128) (param $low v128) (param $high v128) (result v128)
      (v128.and
        (i8x16.relaxed_swizzle
          (local.get $low)
          (v128.and (local.get $v) (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))
        (i8x16.relaxed_swizzle
          (local.get $high)
          (v128.and
            (i16x8.shr_u (local.get $v) (i32.const 4))
            (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15)))))

  ;; Sixteen lanes: 0xff where the byte is outside the class.
  (func $outside (param $v v128) (param $low v128) (param $high v128) (result v128)
    (i8x16.eq (call $inside (local.get $v) (local.get $low) (local.get $high)) (v128.const i64x2 0 0)))

  ;; Sixteen lanes: 0xff where the byte is "\n".
  (func $newlines (param $v v128) (result v128)
    (i8x16.eq (local.get $v) (v128.const i8x16 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10 10)))

  ;; The sum of the sixteen byte counters in $counts.
  (func $sum (param $counts v128) (result i32)
    (local $pairs v128)
    (local.set $pairs (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (local.get $counts))))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $pairs)) (i32x4.extract_lane 1 (local.get $pairs)))
      (i32.add (i32x4.extract_lane 2 (local.get $pairs)) (i32x4.extract_lane 3 (local.get $pairs)))))

  ;; Scans the $len bytes at $block. Returns the offset, from $block, of the
  ;; first byte outside the class ($len when there is none), and sets $lines
  ;; to the "\n" before it.
  (func (export "scan") (param $block i32) (param $len i32) (result i32)
    (local $i i32)
    (local $end i32)
    (local $lines i32)
    (local $low v128)
    (local $high v128)
    (local $a v128)
    (local $b v128)
    (local $c v128)
    (local $d v128)
    (local $counts v128)
    (local $steps i32)
    (local $outside i32)
    (local $byte i32)
    (local $mask v128)
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (local.set $low (v128.load (i32.const 0)))
    (local.set $high (v128.load (i32.const 16)))
    (local.set $i (local.get $block))
    (local.set $end (i32.add (local.get $block) (local.get $len)))
    (block $finish
      ;; Sixty-four bytes at a step while all is in the class. Each step adds
      ;; at most 4 to a byte counter, so they are added up every 63 steps.
      (block $blocks_done
        (loop $blocks
          (br_if $blocks_done (i32.gt_u (i32.add (local.get $i) (i32.const 64)) (local.get $end)))
          (local.set $a (v128.load (local.get $i)))
          (local.set $b (v128.load offset=16 (local.get $i)))
          (local.set $c (v128.load offset=32 (local.get $i)))
          (local.set $d (v128.load offset=48 (local.get $i)))
          ;; The class test is written out for each vector: as calls, it ran at
          ;; two thirds of the speed.
          (br_if $blocks_done
            (i32.eqz
              (i8x16.all_true
                (i8x16.min_u
                  (i8x16.min_u
                    (v128.and
                      (i8x16.relaxed_swizzle (local.get $low) (v128.and (local.get $a) (local.get $mask)))
                      (i8x16.relaxed_swizzle (local.get $high) (v128.and (i16x8.shr_u (local.get $a) (i32.const 4)) (local.get $mask))))
                    (v128.and
                      (i8x16.relaxed_swizzle (local.get $low) (v128.and (local.get $b) (local.get $mask)))
                      (i8x16.relaxed_swizzle (local.get $high) (v128.and (i16x8.shr_u (local.get $b) (i32.const 4)) (local.get $mask)))))
                  (i8x16.min_u
                    (v128.and
                      (i8x16.relaxed_swizzle (local.get $low) (v128.and (local.get $c) (local.get $mask)))
                      (i8x16.relaxed_swizzle (local.get $high) (v128.and (i16x8.shr_u (local.get $c) (i32.const 4)) (local.get $mask))))
                    (v128.and
                      (i8x16.relaxed_swizzle (local.get $low) (v128.and (local.get $d) (local.get $mask)))
                      (i8x16.relaxed_swizzle (local.get $high) (v128.and (i16x8.shr_u (local.get $d) (i32.const 4)) (local.get $mask)))))))))
          ;; A "\n" lane is -1: subtracting it adds one.
          (local.set $counts
            (i8x16.sub
              (i8x16.sub (i8x16.sub (i8x16.sub (local.get $counts) (call $newlines (local.get $a))) (call $newlines (local.get $b))) (call $newlines (local.get $c)))
              (call $newlines (local.get $d))))
          (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
          (if (i32.eq (local.get $steps) (i32.const 63))
            (then
              (local.set $lines (i32.add (local.get $lines) (call $sum (local.get $counts))))
              (local.set $counts (v128.const i64x2 0 0))
              (local.set $steps (i32.const 0))))
          (local.set $i (i32.add (local.get $i) (i32.const 64)))
          (br $blocks)))
      (local.set $lines (i32.add (local.get $lines) (call $sum (local.get $counts))))
      ;; Then sixteen at a step, to find where it stops.
      (block $vectors_done
        (loop $vectors
          (br_if $vectors_done (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $end)))
          (local.set $a (v128.load (local.get $i)))
          (local.set $outside (i8x16.bitmask (call $outside (local.get $a) (local.get $low) (local.get $high))))
          (if (local.get $outside)
            (then
              (local.set $lines
                (i32.add
                  (local.get $lines)
                  (i32.popcnt
                    (i32.and
                      (i8x16.bitmask (call $newlines (local.get $a)))
                      (i32.sub (i32.shl (i32.const 1) (i32.ctz (local.get $outside))) (i32.const 1))))))
              (local.set $i (i32.add (local.get $i) (i32.ctz (local.get $outside))))
              (br $finish)))
          (local.set $lines (i32.add (local.get $lines) (i32.popcnt (i8x16.bitmask (call $newlines (local.get $a))))))
          (local.set $i (i32.add (local.get $i) (i32.const 16)))
          (br $vectors)))
      ;; The last few bytes, one at a time.
      (block $bytes_done
        (loop $bytes
          (br_if $bytes_done (i32.ge_u (local.get $i) (local.get $end)))
          (local.set $byte (i32.load8_u (local.get $i)))
          (br_if $finish
            (i32.eqz
              (i32.and
                (i32.load8_u (i32.and (local.get $byte) (i32.const 15)))
                (i32.load8_u (i32.add (i32.const 16) (i32.shr_u (local.get $byte) (i32.const 4)))))))
          (if (i32.eq (local.get $byte) (i32.const 10))
            (then (local.set $lines (i32.add (local.get $lines) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $bytes))))
    (global.set $lines (local.get $lines))
    (i32.sub (local.get $i) (local.get $block))))
