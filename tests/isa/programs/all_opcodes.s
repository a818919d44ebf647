# Every opcode, and for each opcode every field it carries set to a non-zero value, plus
# every directive. An encoding/coverage test, not a meaningful network: test_isa checks that
# these programs together exercise the whole opcode table.
.isa 1
.semaphores 16
.footprint dram=0x200000 sram=0x40000 acc=0x10000
.meta "model_sha256" "0123456789abcdef"
.meta "precision" "int8"
.meta "note" "tab\there, \"quoted\", byte \x01; not a comment # either"
.input "image" i8 [1,3,8,8] 0x1000 0.0078125 -1
.output "logits" f32 [1,10] 0x2000 0 0
.region "activations" dram 0x0 0x100000 rw
.region "weights" dram 0x100000 0x10000 ro
.region "scratch" sram 0x0 0x40000 rw
.region "accumulators" acc 0x0 0x10000 rw
.region "host_staging" host 0x0 0x1000 ro
.layer "conv1" "Conv" 27648 "card"
.layer "softmax" "Softmax" 0 "host"
.hostop "Softmax" 13 CgZsb2dpdHMSBHByb2IiB1NvZnRtYXg=
.hostin f32 [1,10] 0x2000
.hostout f32 [1,10] 0x2100
.hostop "Identity" 13 ""
.hostin f32 [1,10] 0x2100
.hostout f32 [1,10] 0x2200

.queue mxu
  nop wait=1 signal=2 layer=1
  mxu.conv df=os acc=1 dtype=i32 in_c=3 in_h=10 in_w=10 out_h=8 out_w=8 out_c=16 k_h=3 k_w=3 st_h=1 st_w=1 dl_h=1 dl_w=1 pad_t=1 pad_l=-1 a_space=sram a_addr=0x100 a_type=i8 a_s0=100 a_s1=10 a_s2=1 a_s3=300 a_scale=0.0078125 a_zp=-1 b_space=sram b_addr=0x1000 b_type=i8 b_s0=27 b_s1=9 b_s2=3 b_s3=1 b_scale=0.01 b_zp=2 d_space=acc d_addr=0x40 d_type=i32 d_s0=1 d_s1=16 wait=2 signal=3 layer=1
  end wait=3 signal=4 layer=1

.queue vpu
  vpu.unary fn=leaky_relu alpha=0.1 beta=-2.5 n0=16 n1=8 n2=8 n3=1 d_space=sram d_addr=0x2000 d_type=f16 d_s0=1 d_s1=16 d_s2=128 d_s3=1024 d_scale=0.25 d_zp=-3 a_space=sram a_addr=0x3000 a_type=f32 a_s0=1 a_s1=16 a_s2=128 a_s3=1024 a_scale=2 a_zp=5 wait=4 signal=5 layer=1
  vpu.binary fn=prelu n0=16 n1=8 n2=8 n3=2 d_space=sram d_addr=0x4000 d_type=i8 d_s0=1 d_s1=16 d_s2=128 d_s3=1024 d_scale=0.05 d_zp=-128 a_space=sram a_addr=0x5000 a_type=u8 a_s0=1 a_s1=16 a_s2=128 a_s3=1024 a_scale=0.1 a_zp=128 b_space=dram b_addr=0x100400 b_type=bf16 b_s0=-1 b_s1=-16 b_s2=-128 b_s3=-1024 b_scale=3 b_zp=7 wait=5 signal=6 layer=1
  vpu.requant fn=clip alpha=-1 beta=6 n0=16 n1=8 n2=8 n3=1 d_space=sram d_addr=0x6000 d_type=i8 d_s0=1 d_s1=16 d_s2=128 d_s3=1024 d_scale=0.0235 d_zp=-128 a_space=acc a_addr=0x40 a_type=i32 a_s0=1 a_s1=16 a_s2=128 a_s3=1024 a_scale=0.000078125 a_zp=11 b_space=dram b_addr=0x100100 c_space=dram c_addr=0x100200 c_dim=3 mult=1518500250 shift=38 wait=6 signal=7 layer=1
  vpu.reduce fn=mean n0=64 n1=16 n2=1 n3=1 d_space=sram d_addr=0x7000 d_type=f32 d_s0=1 d_s1=1 d_s2=16 d_s3=16 d_scale=0.125 d_zp=1 a_space=sram a_addr=0x8000 a_type=f16 a_s0=1 a_s1=64 a_s2=1024 a_s3=1024 a_scale=4 a_zp=-2 wait=7 signal=8 layer=1
  vpu.pool fn=avgpool beta=1 n0=4 n1=4 n2=16 n3=2 in_h=8 in_w=8 k_h=3 k_w=3 st_h=2 st_w=2 dl_h=1 dl_w=1 pad_t=1 pad_l=1 pad_b=1 pad_r=1 d_space=sram d_addr=0x9000 d_type=i8 d_s0=1 d_s1=4 d_s2=16 d_s3=256 d_scale=0.02 d_zp=-5 a_space=sram a_addr=0xa000 a_type=i8 a_s0=1 a_s1=8 a_s2=64 a_s3=1024 a_scale=0.02 a_zp=-5 wait=8 signal=9 layer=1
  end wait=9 signal=10 layer=1

.queue dma0
  sem.signal sem=1 count=1 wait=10 signal=11 layer=1
  dma.copy n0=64 n1=8 n2=3 n3=1 d_space=sram d_addr=0x100 d_type=i8 d_s0=1 d_s1=64 d_s2=512 d_s3=1536 d_scale=0.0078125 d_zp=-1 a_space=dram a_addr=0x1000 a_type=f32 a_s0=1 a_s1=64 a_s2=512 a_s3=1536 a_scale=1.5 a_zp=3 cbytes=1200 wait=11 signal=12 layer=1
  dma.fill n0=16 n1=2 n2=1 n3=1 d_space=acc d_addr=0x40 d_type=i32 d_s0=1 d_s1=16 d_s2=32 d_s3=32 d_scale=0.5 d_zp=2 alpha=1.5 wait=12 signal=13 layer=1
  end wait=13 signal=14 layer=1

.queue dma1
  sem.wait sem=14 count=2 wait=14 signal=15 layer=1
  barrier id=7 wait=15 signal=1 layer=1
  host.call id=1 wait=1 signal=2 layer=1
  irq id=0xdeadbeef wait=2 signal=3 layer=1
  end

.constants 0x100000 100
.data AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v
.data MDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f
.data YGFiYw==
