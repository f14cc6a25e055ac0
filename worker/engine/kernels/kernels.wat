;; The engines' elementwise loops and small products in WebAssembly SIMD (kernel-memory.ts loads them; build-kernels.ts
;; compiles this file into kernels.wasm). Each computes exactly what the JavaScript loop it
;; replaces computes, bit for bit: Adam in float64 (JavaScript's arithmetic), the others in float32
;; where the JavaScript product of two float32 values rounded to float32 is the float32 product.
;; Pointers are byte offsets into the imported memory; counts are in elements.
(module
  (import "env" "memory" (memory 1))

  ;; Adam on n parameters (optimizers.ts): m ← β1·m + (1 − β1)·g, v ← β2·v + (1 − β2)·g²,
  ;; p ← p − stepSize·m / (√(v·inverse2) + ε), each stored as float32 but the update reading the
  ;; float64 m and v, as JavaScript's `const m = (s1[k] = …)` does. Two lanes of float64 at a time.
  (func $adam (export "adam")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32) (param $n i32)
    (param $stepSize f64) (param $inverse2 f64) (param $epsilon f64)
    (local $at i32) (local $end i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f64) (local $ms f64) (local $vs f64)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2)))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $gv (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $g) (local.get $at)))))
        (local.set $mv
          (f64x2.add
            (f64x2.mul (f64x2.splat (f64.const 0.9))
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $m) (local.get $at)))))
            (f64x2.mul (f64x2.splat (f64.sub (f64.const 1) (f64.const 0.9))) (local.get $gv))))
        (local.set $vv
          (f64x2.add
            (f64x2.mul (f64x2.splat (f64.const 0.999))
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $v) (local.get $at)))))
            (f64x2.mul (f64x2.mul (f64x2.splat (f64.sub (f64.const 1) (f64.const 0.999))) (local.get $gv)) (local.get $gv))))
        (v128.store64_lane 0 (i32.add (local.get $m) (local.get $at)) (f32x4.demote_f64x2_zero (local.get $mv)))
        (v128.store64_lane 0 (i32.add (local.get $v) (local.get $at)) (f32x4.demote_f64x2_zero (local.get $vv)))
        (v128.store64_lane 0 (i32.add (local.get $p) (local.get $at))
          (f32x4.demote_f64x2_zero
            (f64x2.sub
              (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $p) (local.get $at))))
              (f64x2.div
                (f64x2.mul (f64x2.splat (local.get $stepSize)) (local.get $mv))
                (f64x2.add
                  (f64x2.sqrt (f64x2.mul (local.get $vv) (f64x2.splat (local.get $inverse2))))
                  (f64x2.splat (local.get $epsilon)))))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $pairs)))
    ;; An odd last parameter, in scalar float64.
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $gs (f64.promote_f32 (f32.load (i32.add (local.get $g) (local.get $at)))))
        (local.set $ms
          (f64.add
            (f64.mul (f64.const 0.9) (f64.promote_f32 (f32.load (i32.add (local.get $m) (local.get $at)))))
            (f64.mul (f64.sub (f64.const 1) (f64.const 0.9)) (local.get $gs))))
        (local.set $vs
          (f64.add
            (f64.mul (f64.const 0.999) (f64.promote_f32 (f32.load (i32.add (local.get $v) (local.get $at)))))
            (f64.mul (f64.mul (f64.sub (f64.const 1) (f64.const 0.999)) (local.get $gs)) (local.get $gs))))
        (f32.store (i32.add (local.get $m) (local.get $at)) (f32.demote_f64 (local.get $ms)))
        (f32.store (i32.add (local.get $v) (local.get $at)) (f32.demote_f64 (local.get $vs)))
        (f32.store (i32.add (local.get $p) (local.get $at))
          (f32.demote_f64
            (f64.sub
              (f64.promote_f32 (f32.load (i32.add (local.get $p) (local.get $at))))
              (f64.div
                (f64.mul (local.get $stepSize) (local.get $ms))
                (f64.add (f64.sqrt (f64.mul (local.get $vs) (local.get $inverse2))) (local.get $epsilon)))))))))

  ;; Adam on `count` ranges of `width` parameters starting at the element indices starts[0…count).
  (func (export "adamRanges")
    (param $p i32) (param $m i32) (param $v i32) (param $g i32) (param $starts i32) (param $count i32) (param $width i32)
    (param $stepSize f64) (param $inverse2 f64) (param $epsilon f64)
    (local $r i32) (local $at i32)
    (block $done
      (loop $ranges
        (br_if $done (i32.ge_u (local.get $r) (local.get $count)))
        (local.set $at (i32.shl (i32.load (i32.add (local.get $starts) (i32.shl (local.get $r) (i32.const 2)))) (i32.const 2)))
        (call $adam
          (i32.add (local.get $p) (local.get $at)) (i32.add (local.get $m) (local.get $at))
          (i32.add (local.get $v) (local.get $at)) (i32.add (local.get $g) (local.get $at))
          (local.get $width) (local.get $stepSize) (local.get $inverse2) (local.get $epsilon))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $ranges))))

  ;; relu's ∂/∂z (mlp-engine.ts reluGradient): out[r·units + j] = h[r·cols + j] > 0 ? up[r·units + j]·scale : 0,
  ;; units = cols − 1, for r < b. Four lanes at a time, then the row's last units one by one.
  (func (export "reluBackward")
    (param $out i32) (param $up i32) (param $h i32) (param $scale f32) (param $b i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $units i32) (local $quads i32)
    (local $hRow i32) (local $uRow i32) (local $hAt i32) (local $uAt i32)
    (local.set $units (i32.sub (local.get $cols) (i32.const 1)))
    (local.set $quads (i32.and (local.get $units) (i32.const -4)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $b)))
        (local.set $hRow (i32.add (local.get $h) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 2))))
        (local.set $uRow (i32.shl (i32.mul (local.get $r) (local.get $units)) (i32.const 2)))
        (local.set $j (i32.const 0))
        (block $quads_done
          (loop $quad
            (br_if $quads_done (i32.ge_u (local.get $j) (local.get $quads)))
            (local.set $hAt (i32.add (local.get $hRow) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $uAt (i32.add (local.get $uRow) (i32.shl (local.get $j) (i32.const 2))))
            (v128.store (i32.add (local.get $out) (local.get $uAt))
              (v128.and
                (f32x4.gt (v128.load (local.get $hAt)) (v128.const f32x4 0 0 0 0))
                (f32x4.mul (v128.load (i32.add (local.get $up) (local.get $uAt))) (f32x4.splat (local.get $scale)))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quad)))
        (block $tail_done
          (loop $tail
            (br_if $tail_done (i32.ge_u (local.get $j) (local.get $units)))
            (local.set $hAt (i32.add (local.get $hRow) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $uAt (i32.add (local.get $uRow) (i32.shl (local.get $j) (i32.const 2))))
            (f32.store (i32.add (local.get $out) (local.get $uAt))
              (select
                (f32.mul (f32.load (i32.add (local.get $up) (local.get $uAt))) (local.get $scale))
                (f32.const 0)
                (f32.gt (f32.load (local.get $hAt)) (f32.const 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; Inverted dropout (mlp-engine.ts MaskStream.dropout): one xoshiro128** draw per entry of
  ;; values (rows × cols, the last column kept as it is), row by row; an entry is kept, scaled by
  ;; `kept`, when the draw (as an unsigned number) is below `threshold`. Writes dropped (rows × cols),
  ;; droppedT (cols × rows) and, when $mask is not 0, the mask. The stream's four words are read from
  ;; and written back to $state.
  (func (export "dropout")
    (param $values i32) (param $dropped i32) (param $droppedT i32) (param $mask i32)
    (param $rows i32) (param $cols i32) (param $threshold f64) (param $kept f32) (param $state i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32) (local $t i32) (local $result i32)
    (local $r i32) (local $j i32) (local $at i32) (local $last i32) (local $scale f32) (local $value f32)
    (local.set $a (i32.load (local.get $state)))
    (local.set $b (i32.load offset=4 (local.get $state)))
    (local.set $c (i32.load offset=8 (local.get $state)))
    (local.set $d (i32.load offset=12 (local.get $state)))
    (local.set $last (i32.sub (local.get $cols) (i32.const 1)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $j (i32.const 0))
        (block $cells_done
          (loop $cells
            (br_if $cells_done (i32.ge_u (local.get $j) (local.get $last)))
            (local.set $result (i32.mul (i32.rotl (i32.mul (local.get $b) (i32.const 5)) (i32.const 7)) (i32.const 9)))
            (local.set $t (i32.shl (local.get $b) (i32.const 9)))
            (local.set $c (i32.xor (local.get $c) (local.get $a)))
            (local.set $d (i32.xor (local.get $d) (local.get $b)))
            (local.set $b (i32.xor (local.get $b) (local.get $c)))
            (local.set $a (i32.xor (local.get $a) (local.get $d)))
            (local.set $c (i32.xor (local.get $c) (local.get $t)))
            (local.set $d (i32.rotl (local.get $d) (i32.const 11)))
            (local.set $scale
              (select (local.get $kept) (f32.const 0) (f64.lt (f64.convert_i32_u (local.get $result)) (local.get $threshold))))
            (local.set $at (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $j)) (i32.const 2)))
            (local.set $value (f32.mul (f32.load (i32.add (local.get $values) (local.get $at))) (local.get $scale)))
            (f32.store (i32.add (local.get $dropped) (local.get $at)) (local.get $value))
            (f32.store
              (i32.add (local.get $droppedT) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $r)) (i32.const 2)))
              (local.get $value))
            (if (local.get $mask) (then (f32.store (i32.add (local.get $mask) (local.get $at)) (local.get $scale))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cells)))
        ;; The ones column, kept as it is.
        (local.set $at (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $last)) (i32.const 2)))
        (local.set $value (f32.load (i32.add (local.get $values) (local.get $at))))
        (f32.store (i32.add (local.get $dropped) (local.get $at)) (local.get $value))
        (f32.store
          (i32.add (local.get $droppedT) (i32.shl (i32.add (i32.mul (local.get $last) (local.get $rows)) (local.get $r)) (i32.const 2)))
          (local.get $value))
        (if (local.get $mask) (then (f32.store (i32.add (local.get $mask) (local.get $at)) (f32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
    (i32.store (local.get $state) (local.get $a))
    (i32.store offset=4 (local.get $state) (local.get $b))
    (i32.store offset=8 (local.get $state) (local.get $c))
    (i32.store offset=12 (local.get $state) (local.get $d)))

  ;; out (cols × rows) ← a (rows × cols) transposed (mlp-engine.ts transpose), in blocks of 16 rows.
  (func (export "transpose") (param $out i32) (param $a i32) (param $rows i32) (param $cols i32)
    (local $r0 i32) (local $r1 i32) (local $r i32) (local $j i32) (local $from i32) (local $to i32) (local $step i32)
    (local.set $step (i32.shl (local.get $cols) (i32.const 2)))
    (block $blocks_done
      (loop $blocks
        (br_if $blocks_done (i32.ge_u (local.get $r0) (local.get $rows)))
        (local.set $r1 (select (local.get $rows) (i32.add (local.get $r0) (i32.const 16))
          (i32.lt_u (local.get $rows) (i32.add (local.get $r0) (i32.const 16)))))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $columns
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $to (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $r0)) (i32.const 2))))
            (local.set $from (i32.add (local.get $a) (i32.shl (i32.add (i32.mul (local.get $r0) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (local.set $r (local.get $r0))
            (block $block_done
              (loop $block
                (br_if $block_done (i32.ge_u (local.get $r) (local.get $r1)))
                (f32.store (local.get $to) (f32.load (local.get $from)))
                (local.set $to (i32.add (local.get $to) (i32.const 4)))
                (local.set $from (i32.add (local.get $from) (local.get $step)))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $block)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $columns)))
        (local.set $r0 (local.get $r1))
        (br $blocks))))

  ;; One dense layer's gradient in the parameters' layout (mlp-engine.ts #update): for each of the
  ;; layer's `rows` rows i, G[i·cols + j] = sums[i·nOut + j]·scale + decay_i·P[i·cols + j] for j < nOut,
  ;; decay_i = decay on the first nIn rows (the kernel's) and 0 on the bias row; G[i·cols + nOut] = 0
  ;; when cols > nOut (a fixed unit). In float64, as JavaScript computes it, two lanes at a time.
  (func (export "layerGradient")
    (param $G i32) (param $sums i32) (param $P i32) (param $rows i32) (param $cols i32) (param $nIn i32) (param $nOut i32)
    (param $scale f64) (param $decay f64)
    (local $i i32) (local $j i32) (local $pairs i32) (local $rowDecay f64)
    (local $row i32) (local $sumRow i32)
    (local.set $pairs (i32.and (local.get $nOut) (i32.const -2)))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $rowDecay (select (local.get $decay) (f64.const 0) (i32.lt_u (local.get $i) (local.get $nIn))))
        (local.set $row (i32.shl (i32.mul (local.get $i) (local.get $cols)) (i32.const 2)))
        (local.set $sumRow (i32.add (local.get $sums) (i32.shl (i32.mul (local.get $i) (local.get $nOut)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $pairs_done
          (loop $pair
            (br_if $pairs_done (i32.ge_u (local.get $j) (local.get $pairs)))
            (v128.store64_lane 0 (i32.add (local.get $G) (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
              (f32x4.demote_f64x2_zero
                (f64x2.add
                  (f64x2.mul
                    (f64x2.promote_low_f32x4 (v128.load64_zero (i32.add (local.get $sumRow) (i32.shl (local.get $j) (i32.const 2)))))
                    (f64x2.splat (local.get $scale)))
                  (f64x2.mul
                    (f64x2.splat (local.get $rowDecay))
                    (f64x2.promote_low_f32x4
                      (v128.load64_zero (i32.add (local.get $P) (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))))))))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (br $pair)))
        (if (i32.lt_u (local.get $j) (local.get $nOut))
          (then
            (f32.store (i32.add (local.get $G) (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))
              (f32.demote_f64
                (f64.add
                  (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $sumRow) (i32.shl (local.get $j) (i32.const 2))))) (local.get $scale))
                  (f64.mul (local.get $rowDecay)
                    (f64.promote_f32 (f32.load (i32.add (local.get $P) (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))))))))))
        (if (i32.gt_u (local.get $cols) (local.get $nOut))
          (then (f32.store (i32.add (local.get $G) (i32.add (local.get $row) (i32.shl (local.get $nOut) (i32.const 2)))) (f32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_loop))))

  ;; values ← max(values, 0) on n float32 values (mlp-engine.ts's reluInPlace; wasm's max, as
  ;; JavaScript's Math.max, takes −0 below 0 and returns NaN for NaN).
  (func (export "relu") (param $values i32) (param $n i32)
    (local $at i32) (local $end i32) (local $vectors i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vectors (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (block $vectors_done
      (loop $vector
        (br_if $vectors_done (i32.ge_u (local.get $at) (local.get $vectors)))
        (v128.store (i32.add (local.get $values) (local.get $at))
          (f32x4.max (v128.load (i32.add (local.get $values) (local.get $at))) (v128.const f32x4 0 0 0 0)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $vector)))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $at) (local.get $end)))
        (f32.store (i32.add (local.get $values) (local.get $at))
          (f32.max (f32.load (i32.add (local.get $values) (local.get $at))) (f32.const 0)))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $tail))))

  ;; c ← a·b: a m × k, b k × n, c m × n, row-major float32. Each c[i][j] is the float32 sum over
  ;; p = 0 … k − 1, in that order, of the float32 products a[i][p]·b[p][j], starting from 0: what the
  ;; JavaScript loop of mlp-engine.ts's `matMul` computes. A row of c at a time, 16 columns (four
  ;; vectors held in registers over the whole k loop), then 4, then one.
  (func (export "matMul") (param $c i32) (param $a i32) (param $b i32) (param $m i32) (param $k i32) (param $n i32)
    (local $i i32) (local $j i32) (local $p i32) (local $arow i32) (local $bp i32) (local $ap i32) (local $cp i32)
    (local $av v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $s f32)
    (local $ldb i32) (local $lda i32)
    (local.set $ldb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $lda (i32.shl (local.get $k) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $rows_done (loop $rows
      (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
      (local.set $arow (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $cp (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldb))))
      (local.set $j (i32.const 0))
      ;; 16-wide
      (block $j16_done (loop $j16
        (br_if $j16_done (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
        (local.set $c0 (v128.const i32x4 0 0 0 0)) (local.set $c1 (v128.const i32x4 0 0 0 0))
        (local.set $c2 (v128.const i32x4 0 0 0 0)) (local.set $c3 (v128.const i32x4 0 0 0 0))
        (local.set $ap (local.get $arow))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (block $p_done (loop $pl
          (br_if $p_done (i32.eqz (local.get $p)))
          (local.set $av (v128.load32_splat (local.get $ap)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $av) (v128.load (local.get $bp)))))
          (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $av) (v128.load offset=16 (local.get $bp)))))
          (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $av) (v128.load offset=32 (local.get $bp)))))
          (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $av) (v128.load offset=48 (local.get $bp)))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
          (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
          (local.set $p (i32.sub (local.get $p) (i32.const 1)))
          (br $pl)))
        (v128.store (local.get $cp) (local.get $c0))
        (v128.store offset=16 (local.get $cp) (local.get $c1))
        (v128.store offset=32 (local.get $cp) (local.get $c2))
        (v128.store offset=48 (local.get $cp) (local.get $c3))
        (local.set $cp (i32.add (local.get $cp) (i32.const 64)))
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $j16)))
      ;; 4-wide
      (block $j4_done (loop $j4
        (br_if $j4_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
        (local.set $c0 (v128.const i32x4 0 0 0 0))
        (local.set $ap (local.get $arow))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (block $p4_done (loop $p4
          (br_if $p4_done (i32.eqz (local.get $p)))
          (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (v128.load32_splat (local.get $ap)) (v128.load (local.get $bp)))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
          (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
          (local.set $p (i32.sub (local.get $p) (i32.const 1)))
          (br $p4)))
        (v128.store (local.get $cp) (local.get $c0))
        (local.set $cp (i32.add (local.get $cp) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $j4)))
      ;; scalar
      (block $j1_done (loop $j1
        (br_if $j1_done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $s (f32.const 0))
        (local.set $ap (local.get $arow))
        (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $p (local.get $k))
        (block $p1_done (loop $p1
          (br_if $p1_done (i32.eqz (local.get $p)))
          (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $bp)))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
          (local.set $bp (i32.add (local.get $bp) (local.get $ldb)))
          (local.set $p (i32.sub (local.get $p) (i32.const 1)))
          (br $p1)))
        (f32.store (local.get $cp) (local.get $s))
        (local.set $cp (i32.add (local.get $cp) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rows))))
)
