; Values that must survive text <-> binary exactly: signed zero, infinities, NaN payloads,
; subnormals, the extremes of binary32, extreme integers of each width; strings with escapes;
; empty queues and empty host-op node. Comments may start with ';' too.
.isa 1
.semaphores 256
.meta "" ""
.meta "utf8" "caf\xc3\xa9 \\ back"
.input "x" f16 [] 0xffffffffff -0 -2147483648
.output "y" bf16 [0,1,2147483648] 0x0 inf 2147483647
.layer "" "" 18446744073709551615 ""
.hostop "" -1 ""
.queue mxu
.queue vpu
  vpu.unary fn=clip alpha=-inf beta=inf n0=16777215 n1=1 n2=1 n3=1 d_space=sram d_addr=0xffffffffff d_type=f32 d_s0=-2147483648 d_s1=2147483647 a_space=sram a_type=f32 a_scale=1e-45 d_scale=3.4028235e+38 wait=255 signal=255 layer=65535
  vpu.unary fn=hard_sigmoid alpha=nan:0x7fc00000 beta=nan:0xffbfffff n0=1 n1=1 n2=1 n3=1 d_space=sram d_type=f16 a_space=sram a_type=f16 a_scale=1.1754942e-38 d_scale=-0
  vpu.binary fn=pow b_scale=0.30000001 n0=1 n1=1 n2=1 n3=1 d_space=sram d_type=f32 a_space=sram a_type=f32 b_space=sram b_type=f32
  vpu.reduce fn=sumsq n0=1 n1=1 n2=1 n3=1 d_space=sram d_type=f32 a_space=sram a_type=f32
  vpu.pool fn=maxpool n0=1 n1=1 n2=1 n3=1 in_h=65535 in_w=16777215 k_h=255 k_w=255 st_h=255 st_w=255 pad_t=-128 pad_l=127 pad_b=-128 pad_r=127 d_space=sram d_type=u8 a_space=sram a_type=u8
  end
.queue dma0
.queue dma3
  dma.copy n0=1 n1=1 n2=1 n3=1 d_space=host d_addr=0x0 d_type=u8 a_space=host a_type=u8 cbytes=4294967295
  sem.signal sem=255 count=65535
  irq id=4294967295
  end
.constants 0xffffffffffffffff 0
