// libsystemc's main() refers to sc_main; cardsim drives the kernel from its own main (CLI,
// tests), so a weak definition satisfies the link without claiming the entry point. It is an
// INTERFACE source of cardsim_card, compiled into every executable that links the card, so
// the linker always sees it (a definition inside the static library is dropped when nothing
// else pulls its object in, e.g. report_validate under the sanitizer build).
extern "C" __attribute__((weak)) int sc_main(int, char**) { return 0; }
