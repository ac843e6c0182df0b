// See feature-probe.cc.
#pragma once

/** 0 when an fentry program loads here, else -errno (EPERM, ENOENT, EINVAL...). */
int ProbeFentry();

/** 0 when a BTF-typed raw tracepoint program loads and attaches to `tracepoint`
 * (e.g. "tcp_rcv_space_adjust") here, else -errno. */
int ProbeTpBtf(const char* tracepoint);
