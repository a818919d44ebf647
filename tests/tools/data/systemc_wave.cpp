// Writes systemc_wave.vcd (fixture of tests/tools/test_trace_check.py) with SystemC's own VCD tracer.
// g++ -std=c++17 systemc_wave.cpp $(pkg-config --cflags --libs systemc) && ./a.out
#include <systemc>
using namespace sc_core;
int sc_main(int, char**) {
  sc_set_time_resolution(100, SC_PS);
  sc_clock clk("clk", 1, SC_NS);
  sc_signal<sc_dt::sc_uint<8>> cnt("cnt");
  sc_signal<bool> flag("flag");
  sc_signal<double> real("real");
  sc_trace_file* tf = sc_create_vcd_trace_file("wave");
  sc_trace(tf, clk, "clk"); sc_trace(tf, cnt, "cnt"); sc_trace(tf, flag, "flag"); sc_trace(tf, real, "real");
  sc_start(1, SC_NS);
  for (int i = 0; i < 5; ++i) { cnt.write(i * 37); flag.write(i & 1); real.write(i * 0.5); sc_start(2, SC_NS); }
  sc_close_vcd_trace_file(tf);
  return 0;
}
