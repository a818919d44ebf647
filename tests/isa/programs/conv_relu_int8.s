# A small int8 layer as codegen would emit it: 3x3 conv (pad 1) of a 1x1x4x4 image into two
# channels, + bias, requantize with ReLU, store. dma0 moves data, mxu convolves, vpu requantizes;
# semaphores order them: 1 = weights in SRAM, 2 = bias in SRAM, 3 = accumulators ready,
# 4 = output in SRAM.
.isa 1
.semaphores 8
.footprint dram=0x100028 sram=0x220 acc=0x80
.meta "precision" "int8"
.input "x" i8 [1,1,4,4] 0x0 0.1 0
.output "y" i8 [1,2,4,4] 0x1000 0.05 -128
.region "activations" dram 0x0 0x2000 rw
.region "constants" dram 0x100000 0x28 ro
.region "sram" sram 0x0 0x220 rw
.region "acc" acc 0x0 0x80 rw
.layer "conv_relu" "Conv" 288 "card"

.queue mxu
  mxu.conv df=ws dtype=i32 in_c=1 in_h=4 in_w=4 out_h=4 out_w=4 out_c=2 k_h=3 k_w=3 st_h=1 st_w=1 dl_h=1 dl_w=1 pad_t=1 pad_l=1 a_space=sram a_addr=0x0 a_type=i8 a_s0=16 a_s1=4 a_s2=1 b_space=sram b_addr=0x100 b_type=i8 b_s0=9 b_s1=9 b_s2=3 b_s3=1 d_space=acc d_addr=0x0 d_s0=1 d_s1=2 wait=1 signal=3
  end

.queue vpu
  sem.wait sem=2 count=1
  vpu.requant fn=relu n0=2 n1=16 n2=1 n3=1 d_space=sram d_addr=0x200 d_type=i8 d_s0=16 d_s1=1 d_scale=0.05 d_zp=-128 a_space=acc a_addr=0x0 a_type=i32 a_s0=1 a_s1=2 b_space=host b_addr=none c_space=sram c_addr=0x180 c_dim=0 mult=1717986918 shift=37 wait=3 signal=4
  end

.queue dma0
  dma.copy n0=16 n1=1 n2=1 n3=1 d_space=sram d_addr=0x0 d_type=i8 d_s0=1 a_space=dram a_addr=0x0 a_type=i8 a_s0=1
  dma.copy n0=18 n1=1 n2=1 n3=1 d_space=sram d_addr=0x100 d_type=i8 d_s0=1 a_space=dram a_addr=0x100000 a_type=i8 a_s0=1 signal=1
  dma.copy n0=2 n1=1 n2=1 n3=1 d_space=sram d_addr=0x180 d_type=i32 d_s0=1 a_space=dram a_addr=0x100020 a_type=i32 a_s0=1 signal=2
  dma.copy n0=32 n1=1 n2=1 n3=1 d_space=dram d_addr=0x1000 d_type=i8 d_s0=1 a_space=sram a_addr=0x200 a_type=i8 a_s0=1 wait=4
  irq id=1
  end

.constants 0x100000 40
.data AQIBAAAA//7/AAEAAfwBAAEAAAAAAAAAAAAAAAAAAABkAAAAzv///w==
