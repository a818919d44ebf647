#!/usr/bin/env bash
# asm -> disasm -> asm is byte-identical on programs the compiler emits: several ONNX node
# models and (when the networks fixture exported it) resnet18, on every preset, in every
# precision the preset's matrix unit supports.
#   compiled_roundtrip.sh CARDSIM [MODELS_DIR]
set -uo pipefail
CARDSIM="$1"; MODELS="${2:-}"
T="$(mktemp -d)"; trap 'rm -rf "$T"' EXIT
N=/usr/share/libonnx-testdata/data/node
models=("$N/test_conv_with_strides_padding/model.onnx" "$N/test_gemm_default_matrix_bias/model.onnx"
        "$N/test_maxpool_2d_pads/model.onnx" "$N/test_softmax_axis_1/model.onnx" "$N/test_add_bcast/model.onnx")
[ -n "$MODELS" ] && [ -f "$MODELS/resnet18/model.onnx" ] && models+=("$MODELS/resnet18/model.onnx")
pass=0; fail=0
for cfg in default edge tpu-v1 scalesim-32x32; do
  dtypes=$("$CARDSIM" config show "$cfg" | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["matrix"]["dtypes"]))')
  for m in "${models[@]}"; do
    for p in int8 fp16 bf16 fp32; do
      case "$p" in int8) d=i8;; fp16) d=f16;; bf16) d=bf16;; fp32) d=f32;; esac
      [[ " $dtypes " == *" $d "* ]] || continue
      name="$cfg-$(basename "$(dirname "$m")")-$p"
      if ! "$CARDSIM" compile "$m" -c "$cfg" --precision "$p" -o "$T/a.cbin" >"$T/log" 2>&1; then
        echo "FAIL $name: compile: $(tail -1 "$T/log")"; fail=$((fail + 1)); continue
      fi
      "$CARDSIM" disasm "$T/a.cbin" -o "$T/a.s" && "$CARDSIM" asm "$T/a.s" -o "$T/b.cbin" &&
        "$CARDSIM" disasm "$T/b.cbin" -o "$T/b.s"
      if cmp -s "$T/a.cbin" "$T/b.cbin" && cmp -s "$T/a.s" "$T/b.s"; then
        pass=$((pass + 1))
      else
        echo "FAIL $name: asm(disasm(x)) differs from x"; fail=$((fail + 1))
      fi
    done
  done
done
echo "compiled_roundtrip: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
