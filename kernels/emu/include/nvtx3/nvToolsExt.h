#pragma once
// NVTX ranges for the emulated target: nothing records them (no profiler sees the CPU run).
inline int nvtxRangePushA(const char*) { return 0; }
inline int nvtxRangePop() { return 0; }
